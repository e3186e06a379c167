"""Ship a trained model with the package: copy its weights into src/sgenet/weights and list them.

    python tools/ship_weights.py runs/sgenet/best.safetensors --run-dir runs/sgenet \
        --config sgenet --command "sgenet train --config ..."

The manifest entry records the file, its sha256, the factory overrides (from the file's metadata),
the committed config and exact command that trained it, and the run's steps, batch and samples seen,
so `sgenet.create_model(name, pretrained=True)` loads exactly these bytes and anyone can retrain them.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import yaml
from safetensors import safe_open

from sgenet.atomic import atomic_write
from sgenet.models.registry import MANIFEST, WEIGHTS_DIR, load_model, sha256_of
from sgenet.train.config import CONFIGS_DIR, resolve_config_path


def run_summary(run_dir: Path) -> dict:
    """Steps, batch size and samples seen, from the run folder the trainer wrote."""
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    with open(run_dir / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    steps = max(int(row["step"]) for row in rows)
    minutes = [float(row["train_minutes"]) for row in rows if row.get("train_minutes")]
    batch = int(cfg["data"]["batch_size"])
    commit = (run_dir / "git_commit.txt").read_text().strip() if (run_dir / "git_commit.txt").exists() else ""
    return {"steps": steps, "batch_size": batch, "samples_seen": steps * batch, "git_commit": commit,
            "wall_minutes": round(max(minutes), 1) if minutes else None}


def recorded_config(spec: str) -> str:
    """A shipped recipe (by name or any path to it) as its path in the checkout, else ``spec`` as given."""
    path = resolve_config_path(spec)
    if path.resolve().parent == CONFIGS_DIR.resolve():
        return f"src/sgenet/configs/{path.name}"
    return spec


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path, help="a .safetensors file written by the trainer")
    parser.add_argument("--run-dir", type=Path, required=True, help="the run folder that produced it")
    parser.add_argument("--config", required=True,
                        help="the committed config it was trained with (a shipped recipe name or a file)")
    parser.add_argument("--command", required=True, help="the exact training command")
    parser.add_argument("--wall-minutes", type=float, default=None,
                        help="training wall time (default: the run's metrics.csv train_minutes)")
    parser.add_argument("--note", default="", help="anything a user should know (e.g. the machine)")
    args = parser.parse_args(argv)

    with safe_open(str(args.weights), framework="pt") as fh:
        meta = fh.metadata() or {}
    name = meta.get("model")
    if not name:
        raise SystemExit(f"{args.weights} has no 'model' metadata; it was not written by sgenet")
    load_model(args.weights)  # refuses files that do not load strictly into their model
    trained = run_summary(args.run_dir)
    if args.wall_minutes is not None:
        trained["wall_minutes"] = args.wall_minutes
    if not trained["wall_minutes"]:
        raise SystemExit("the run's metrics.csv has no train_minutes column: pass --wall-minutes")

    target = WEIGHTS_DIR / f"{name}.safetensors"
    atomic_write(target, args.weights.read_bytes())
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
    manifest[name] = {
        "file": target.name,
        "sha256": sha256_of(target),
        "config": json.loads(meta.get("config", "{}")),
        "train_config": recorded_config(args.config),
        "command": args.command,
        "trained": trained,
        "note": args.note,
    }
    atomic_write(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    size_mb = target.stat().st_size / 1e6
    print(f"shipped {name}: {target} ({size_mb:.2f} MB), sha256 {manifest[name]['sha256']}")


if __name__ == "__main__":
    main()
