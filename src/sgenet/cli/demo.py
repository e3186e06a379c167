"""``sgenet demo``: a web page to try the model: drop a word crop or a photo, see LR | SR side by side
and the text read, download the SR image.

Serves on http://127.0.0.1:7860/ (this machine only; ``--host 0.0.0.0`` opens it to the network, with
no authentication). A crop (an image at most --crop-max-height pixels high, or mode "word crop" on
the page) is super-resolved as by ``sgenet upscale``; a photo is read as by ``sgenet read``
(--no-photos: crops only, the text detector is not loaded). Uploads are bounded by
--max-upload-mb and --max-megapixels; results stay in memory (the last 32 uploads), nothing is written
to disk. Ctrl-C stops it. See docs/demo.md.
"""

from __future__ import annotations

import argparse
import sys

from sgenet.cli.argtypes import float_range, int_range

HELP = "web demo: drop a crop or a photo, see LR | SR and the text read (http://127.0.0.1:7860)"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help=HELP, description=__doc__,
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0: every interface)")
    p.add_argument("--port", type=int_range(0, 65535), default=7860, help="port (0: any free port)")
    p.add_argument("-m", "--model", default="sgenet",
                   help="SR model: registry name, .safetensors from `sgenet train`, or .onnx")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--threads", type=int_range(1, 1024), default=None, help="CPU threads")
    p.add_argument("--no-photos", action="store_true", help="take word crops only (no text detector loaded)")
    p.add_argument("--crop-max-height", type=int_range(1, 100000), default=64,
                   help="in auto mode an image at most this high is a word crop, a taller one a photo")
    p.add_argument("--max-upload-mb", type=float_range(0.001, 1000.0), default=20.0,
                   help="larger uploads are refused")
    p.add_argument("--max-megapixels", type=float_range(0.001, 1000.0), default=25.0,
                   help="images with more pixels are refused")
    p.add_argument("-q", "--quiet", action="store_true", help="do not log each request")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    from sgenet.cli.upscale import print_loud_warnings
    from sgenet.demo.engine import DemoEngine
    from sgenet.demo.server import check_address, make_server
    from sgenet.deploy.predictor import UntrainedModelWarning

    check_address(args.host, args.port)  # a taken port is reported now, not after the models load
    print("sgenet demo: loading the models ...", file=sys.stderr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UntrainedModelWarning)
        engine = DemoEngine(args.model, device=args.device, photos=not args.no_photos, threads=args.threads,
                            crop_max_height=args.crop_max_height,
                            max_pixels=round(args.max_megapixels * 1e6))
    print_loud_warnings(caught)
    if engine.photo_error and not args.no_photos:
        print(f"sgenet demo: word crops only: {engine.photo_error}", file=sys.stderr)
    server = make_server(engine, args.host, args.port, max_upload_bytes=round(args.max_upload_mb * 1e6),
                         quiet=args.quiet)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"sgenet demo: listening on {args.host}: anyone who can reach this machine can use it",
              file=sys.stderr)
    print(f"sgenet demo: open {server.url} (Ctrl-C stops it)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nsgenet demo: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
