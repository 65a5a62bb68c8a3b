"""audiox: generate sound effects and music from text, video, images and audio with AudioX models."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from audiox.errors import AudioXError

# verb name -> module under audiox.cli with `add_arguments(parser)` and `run(args) -> int`
VERBS = {
    "generate": "Generate audio or music from text, video, image and/or audio",
    "bench": "Benchmark a model on fixed-seed synthetic test sets (Cat/Cnt/Ord/TS, sync, tempo/key, seams)",
    "eval": "Score generated audio: FAD, FD, KL, IS, CLAP score (local embedders, cached embeddings)",
    "conformance": "Run golden-vector cases against this implementation",
    "train": "Train or fine-tune a diffusion model with PyTorch Lightning (input masking, CFG dropout, EMA)",
    "distill": "Distil a model into a few-step student (DMD + diffusion discriminator, AudioX-Turbo's recipe)",
    "train-own": "Train audiox's own small model on the synthetic world (the recipe of the shipped model)",
    "train-vae": "Train the Oobleck VAE (multi-resolution STFT + adversarial losses)",
    "encode-dataset": "Pre-encode a manifest's VAE latents and text/video features to a cache",
    "serve": "Serve a web UI and a JSON HTTP API for one model (needs the serve extra)",
    "info": "Describe a model (folder, hub id or config): components, parameter counts, files",
    "convert": "Convert an official model.ckpt to safetensors (config in the metadata)",
}


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (what is wrong, where the help is), exit code 2."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The `audiox` parser. `verb`: import and build only that verb's options (the others are listed with
    their one-line help, which needs no import), so `--help` and argument errors stay fast; None builds all."""
    parser = OneLineParser(
        prog="audiox", description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars or chatter on stderr")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name, help_text in VERBS.items():
        p = sub.add_parser(name, help=help_text, formatter_class=argparse.RawDescriptionHelpFormatter)
        if verb is not None and name != verb:
            continue
        module = importlib.import_module(f"audiox.cli.{name.replace('-', '_')}")
        p.description = module.__doc__
        p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress or chatter")
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def chosen_verb(argv: list[str]) -> str | None:
    """The verb on the command line (the first argument that is one), else None."""
    return next((a for a in argv if a in VERBS), None)


def _quiet_third_party() -> None:
    """transformers prints its own progress bars and warnings on load; the CLI has its own. Set through the
    environment (read when transformers is imported, which only the verbs that need it do), or directly
    when it is already imported."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(chosen_verb(argv) or "").parse_args(argv)
    _quiet_third_party()
    try:
        return int(args._run(args) or 0)
    except AudioXError as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `audiox info ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
