"""Cost of enlarging a photo by the scene super-resolvers of ``sgenet read`` vs OpenCV bicubic.

Median seconds of ``SceneEnlarger`` (strips of 128 rows) on random photos of the sizes the end-to-end
benchmark meets (ICDAR 2015's 1280 x 720 downscaled 2x and 3x, enlarged back to 720 px high):

    OMP_NUM_THREADS=1 .venv/bin/python bench/scene_sr.py --threads 1
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from _machine import cpu_name, timed
from sgenet.read.enlarge import SceneEnlarger


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    learned, bicubic = SceneEnlarger.load(), SceneEnlarger()
    rng = np.random.default_rng(0)
    print(f"{cpu_name()}, threads={args.threads}, median of {args.repeats}")
    print(f"{'photo':>10} {'factor':>6} {'bicubic s':>10} {'scene SR s':>11} {'ratio':>6}")
    for width, height in ((640, 360), (427, 240)):
        rgb = (rng.random((height, width, 3)) * 255).astype(np.uint8)
        factor = 720 / height
        t_bicubic = timed(lambda rgb=rgb, factor=factor: bicubic(rgb, factor), args.repeats)
        t_learned = timed(lambda rgb=rgb, factor=factor: learned(rgb, factor), args.repeats)
        print(f"{width:>4} x {height:<3} {factor:>6.2f} {t_bicubic:>10.4f} {t_learned:>11.3f} "
              f"{t_learned / t_bicubic:>6.0f}")


if __name__ == "__main__":
    main()
