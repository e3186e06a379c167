"""``sgenet train`` (SGENet / TSRN on LR-HR pairs) and ``sgenet train-recognizer`` (textrec / CRNN).

Examples::

    sgenet train-recognizer --config textrec --data synth: --out runs/textrec
    sgenet train --config sgenet --data train.lmdb --val val.lmdb --out runs/sgenet \\
        optim.lr=5e-4 data.batch_size=64
    torchrun --nproc_per_node=2 $(which sgenet) train --config sgenet ...

Trailing ``KEY=VALUE`` arguments override config values (``section.field=value``).
A RUN_DIR that already holds a checkpoint is resumed automatically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

COMMANDS = {
    "train": ("sr", "sgenet", "train a super-resolution model (sgenet, tsrn) on LR/HR pairs"),
    "train-recognizer": ("recognizer", "textrec",
                         "train a CTC recognizer (textrec guidance or crnn evaluator) on text crops"),
    "train-scene": ("scene", "scene_sr_x3",
                    "train the whole-photo super-resolver of `sgenet read` (scene_sr_x2, scene_sr_x3)"),
}


EPILOG = {
    "train": """examples:
  sgenet train --config sgenet --data data/synth_train --val data/synth_val --out runs/sgenet
  sgenet train --config tsrn --data data/synth_train --out runs/tsrn optim.lr=5e-4
  torchrun --nproc_per_node=2 $(which sgenet) train --config sgenet --data ... --out ...

Outputs in RUN_DIR: config.yaml, git_commit.txt, metrics.csv, tb/, samples/, checkpoints/
(step_*.pt, best.pt), final.safetensors (sgenet.load_model(path)).""",
    "train-recognizer": """examples:
  sgenet train-recognizer --config textrec --data data/synth_train \\
      --data ../shared/data/real/iiit5k_train@4 --val data/synth_val --out runs/textrec
  sgenet train-recognizer --config crnn --data data/synth_train --val data/synth_val \\
      --out runs/crnn""",
    "train-scene": """examples:
  sgenet train-scene --config scene_sr_x3 --data data/ic15_fit --data ../shared/data/real/svt_train \
      --data ../shared/data/real/iiit5k_train --val data/ic15_val --out runs/scene_sr_x3
Data: folders of images (photos or word crops; labels not needed), LR made by area averaging.""",
}


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="NAME|FILE",
                        help="a recipe shipped in sgenet/configs, by name (sgenet, sgenet_ft, textrec, ...), "
                             "or a YAML file; defaults otherwise")
    parser.add_argument("--data", action="append", metavar="PATH",
                        help="training source, repeatable and mixable: LMDB folder, image folder with "
                             "labels.tsv (LR made by degradation), or synth:[N] (rendered on the fly); "
                             "PATH@K repeats a source K times; replaces data.train")
    parser.add_argument("--val", metavar="PATH", help="validation set (selects best.pt); sets data.val")
    parser.add_argument("--out", type=Path, help="run folder (default runs/<config name>)")
    parser.add_argument("--max-steps", type=int, help="total optimiser steps; sets run.max_steps")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the latest checkpoint in --out (automatic when one exists)")
    parser.add_argument("--accum-steps", type=int, default=1,
                        help="split each global batch into K strided micro-batches (the same update as "
                             "K DDP ranks; also saves memory); default 1")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="config overrides, e.g. optim.lr=5e-4 data.batch_size=64")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    for name, (task, model, help_text) in COMMANDS.items():
        parser = subparsers.add_parser(name, help=help_text, description=help_text, epilog=EPILOG[name],
                                       formatter_class=argparse.RawDescriptionHelpFormatter)
        _add_common(parser)
        parser.set_defaults(func=run, task=task, default_model=model)


def resolve_config(args: argparse.Namespace):
    """The validated config of this invocation (file, then flags, then KEY=VALUE overrides)."""
    from sgenet.train.config import load_config

    overrides = list(args.overrides or [])
    flags = []
    if args.data:
        flags.append("data.train=[" + ", ".join(_quote(d) for d in args.data) + "]")
    if args.val:
        flags.append(f"data.val={args.val}")
    if args.max_steps is not None:
        flags.append(f"run.max_steps={args.max_steps}")
    defaults = {"task": args.task, "model": {"name": args.default_model}}
    # train-scene without --config starts from its recipe (the generic defaults are the word-crop ones)
    config = args.config if args.config is not None or args.task != "scene" else Path("scene_sr_x3")
    cfg = load_config(config, flags + overrides, defaults=defaults)
    if cfg.task != args.task:
        other = {"recognizer": "train-recognizer", "scene": "train-scene"}.get(cfg.task, "train")
        raise ValueError(f"config {args.config} is a '{cfg.task}' config: run it with `sgenet {other}`")
    return cfg


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def run(args: argparse.Namespace) -> int:
    from sgenet.train.trainer import TrainingDiverged, TrainingInterrupted

    cfg = resolve_config(args)
    out = args.out or Path("runs") / (args.config.stem if args.config else cfg.model.name)
    if args.accum_steps < 1:
        raise ValueError("--accum-steps must be >= 1")
    from sgenet.train.recognizer_trainer import RecognizerTrainer
    from sgenet.train.scene_trainer import SceneTrainer
    from sgenet.train.sr_trainer import SRTrainer
    from sgenet.train.trainer import Trainer

    trainer_class: type[Trainer] = {"recognizer": RecognizerTrainer, "scene": SceneTrainer}.get(
        args.task, SRTrainer)
    trainer = trainer_class(cfg, out, resume=args.resume, accum_steps=args.accum_steps)
    try:
        trainer.fit()
    except TrainingDiverged as exc:
        print(f"sgenet {args.command}: stopped: {exc}", file=sys.stderr)
        return 3
    except TrainingInterrupted as exc:
        print(f"sgenet {args.command}: interrupted: {exc}", file=sys.stderr)
        return 130
    finally:
        from sgenet import distributed

        distributed.shutdown()
    return 0
