"""Convert an official model checkpoint (.ckpt / .pth / .safetensors, any official layout) to one
safetensors file with canonical official key names and the model config JSON in its metadata."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help="the checkpoint to convert (e.g. model.ckpt)")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="output .safetensors file; None: PATH with the suffix .safetensors",
    )
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the model's config.json, stored in the output metadata; "
        "None: keep the one PATH carries, if any",
    )
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="let a pickle that holds Python objects run code while loading; only for files you trust",
    )


def run(args: argparse.Namespace) -> int:
    from audiox.checkpoints.convert import convert_checkpoint

    output = args.output if args.output is not None else args.path.with_suffix(".safetensors")
    result = convert_checkpoint(args.path, output, args.config, trust_pickle=args.trust_pickle)
    if not args.quiet:
        config_note = (
            "with config" if result.has_config else "no config (pass --config config.json to add one)"
        )
        print(f"wrote {result.path} ({result.num_tensors} tensors, {config_note})")
    return 0
