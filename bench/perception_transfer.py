"""Does the text-perception loss make SR more readable for *other* recognizers, or only for its own?

Fine-tunes a copy of the shipped SGENet on ONE fixed batch with ``pixel + weight * perception``
(the frozen ``textrec``, as in ``sgenet train``) and prints, every few steps, the perception loss and the
word accuracy of the SR on that batch as read by textrec (the loss's recognizer) and by the independent
CRNN evaluator. If the loss taught the network to write clearer text, both readers would gain; if it only
found a perturbation that suits textrec, textrec gains and CRNN does not.

    .venv/bin/python bench/perception_transfer.py --data /work/data/synth_val --batch 32 --steps 200
"""

from __future__ import annotations

import argparse
import time

import torch

from sgenet.data.datasets import collate
from sgenet.data.registry import open_dataset
from sgenet.eval.metrics import word_accuracy
from sgenet.models import load_model
from sgenet.train.losses import TextPerceptionLoss, as_rgb01, pixel_loss


def read_accuracy(reader: torch.nn.Module, images: torch.Tensor, labels: list[str]) -> float:
    """Word accuracy (%) of ``reader`` on ``images`` (SR or HR, clamped to RGB in [0, 1])."""
    return 100.0 * word_accuracy(reader.read(as_rgb01(images)), labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="an LMDB or image folder with labels (not a test set)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--every", type=int, default=40)
    parser.add_argument("--weight", type=float, default=2.0, help="perception weight (pixel weight is 1)")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    dataset = open_dataset(args.data)
    batch = collate([dataset[i] for i in range(args.batch)])
    lr, hr, labels = batch["lr"], batch["hr"], batch["label"]
    model = load_model("sgenet").train()
    textrec, crnn = load_model("textrec").eval(), load_model("crnn").eval()
    perception = TextPerceptionLoss(textrec)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))

    with torch.no_grad():
        print(f"batch of {args.batch} from {args.data}: HR read by textrec "
              f"{read_accuracy(textrec, hr, labels):.1f} %, by crnn {read_accuracy(crnn, hr, labels):.1f} %")
    print("| step | perception | pixel MSE | textrec acc on SR (%) | crnn acc on SR (%) |")
    print("|---|---|---|---|---|")
    start = time.perf_counter()
    for step in range(args.steps + 1):
        sr, _ = model.forward_train(lr)
        perc, pix = perception(sr, hr)["perception"], pixel_loss(sr, hr)
        if step % args.every == 0:
            model.eval()
            with torch.no_grad():
                out = model(lr)
                print(f"| {step} | {float(perc):.4f} | {float(pix):.4f} | "
                      f"{read_accuracy(textrec, out, labels):.1f} | {read_accuracy(crnn, out, labels):.1f} |",
                      flush=True)
            model.train()
        if step < args.steps:
            optimizer.zero_grad()
            (100.0 * (pix + args.weight * perc)).backward()
            optimizer.step()
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
