"""``sgenet export``: an SR model to ONNX (dynamic batch and width), optionally quantized to int8.

The graph maps ``lr`` (N x C x 16 x W in [0, 1]) to ``sr`` (N x C x 32 x 2W in [0, 1]) and, for models
with a guidance recognizer, ``logits`` (N x T x 37), so ``sgenet upscale --backend onnx --onnx FILE``
also reads text. The file's metadata describes the layouts, channels and scale, with the sgenet version
and the sha256 of the weights (docs/export.md). After writing, the export is checked against PyTorch at
widths 16, 64 and 160.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from sgenet.deploy.export import DEFAULT_OPSET, INT8_MODES


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("export", help="export an SR model to ONNX (fp32 or int8)", description=__doc__,
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-m", "--model", default="sgenet",
                   help="registry name or .safetensors from `sgenet train`")
    p.add_argument("-o", "--out", required=True, help="output .onnx file")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset")
    p.add_argument("--int8", action="store_true", help="quantize to int8 with onnxruntime.quantization")
    p.add_argument("--int8-mode", choices=INT8_MODES, default="static",
                   help="static: QDQ calibrated on synthetic crops; dynamic: weights only")
    p.add_argument("--calib", type=int, default=128, help="synthetic calibration crops for static int8")
    p.add_argument("--no-text", action="store_true", help="export the SR output only (no recognizer logits)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(func=run)


def check_export(model, onnx_path: str | Path, widths: tuple[int, ...] = (16, 64, 160), batch: int = 3,
                 threads: int | None = None) -> list[tuple[int, float, float | None]]:
    """``(width, max |sr diff|, max |logit diff| or None)`` of ONNX Runtime against PyTorch."""
    import torch

    from sgenet.deploy.export import ExportWrapper
    from sgenet.deploy.onnx_runtime import OnnxRunner

    runner = OnnxRunner(onnx_path, threads=threads)
    wrapper = ExportWrapper(model.eval(), with_text=runner.reads_text).eval()
    gen = torch.Generator().manual_seed(0)
    rows = []
    for width in widths:
        lr = torch.rand(batch, runner.in_channels, 16, width, generator=gen)
        with torch.inference_mode():
            ref = wrapper(lr)
        sr, logits = runner(lr)
        ref_sr, ref_logits = (ref if isinstance(ref, tuple) else (ref, None))
        d_logits = None if logits is None else float((logits - ref_logits).abs().max())
        rows.append((width, float((sr - ref_sr).abs().max()), d_logits))
    return rows


def run(args: argparse.Namespace) -> int:
    from sgenet.cli.upscale import print_loud_warnings
    from sgenet.deploy.export import export_onnx, quantize_int8
    from sgenet.models.registry import UntrainedModelWarning, load_sr_model

    out = Path(args.out)
    if out.suffix != ".onnx":
        raise ValueError(f"--out must end with .onnx, got {out}")
    if out.exists() and not args.overwrite:
        raise ValueError(f"output exists: {out} (pass --overwrite to replace it)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UntrainedModelWarning)
        model = load_sr_model(args.model, onnx=False).float().cpu()
    print_loud_warnings(caught)
    if not args.int8:
        export_onnx(model, out, args.opset, with_text=not args.no_text, source=args.model)
    else:
        fp32 = out.with_name(out.stem + ".fp32.tmp.onnx")
        try:
            export_onnx(model, fp32, args.opset, with_text=not args.no_text, source=args.model)
            quantize_int8(fp32, out, args.int8_mode, args.calib)
        finally:
            fp32.unlink(missing_ok=True)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, opset {args.opset}"
          f"{', int8 ' + args.int8_mode if args.int8 else ', fp32'})", file=sys.stderr)
    for width, d_sr, d_logits in check_export(model, out):
        logits = "" if d_logits is None else f", logits {d_logits:.2e}"
        print(f"check vs PyTorch at width {width}: max |diff| sr {d_sr:.2e}{logits}", file=sys.stderr)
    return 0
