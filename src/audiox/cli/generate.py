"""Generate audio or music from a text prompt, a video or image, and/or an audio clip.

Without --model the small model shipped in the package is used (16 kHz mono, trained on audiox's synthetic
world: knocks, claps, bells, whistles, tones, chirps, engines, rain, drums, simple music).

Where files go: `-o FILE` (.wav, .flac or .ogg), else the current folder (or --out-dir), named after the
input and the task: clip_v2a.wav (+ clip_v2a.mp4 with the new soundtrack), clip_v2m.wav, take_inpaint.wav,
two_knocks_then_a_bell_t2a.wav. An input file is never overwritten, nor an existing file without
--overwrite (a default name moves on to _2, _3, ... instead). Every path written is printed with its seed;
the seed and the request are also stored in the file's comment metadata.

Examples:
  audiox generate "two knocks then a bell" -o out.wav                       (the shipped model)
  audiox generate "a dog barks twice" --model AudioX/ -o dog.wav
  audiox generate --video clip.mp4 --model AudioX/            (writes clip_v2a.wav and clip_v2a.mp4)
  audiox generate "calm piano" --audio song.wav --model AudioX/             (music continuation)
  audiox generate --audio take.wav --inpaint 2.0 3.5 --model AudioX/        (audio inpainting)
  audiox generate "rain" --batch prompts.txt --out-dir outs/ --model AudioX/
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
from pathlib import Path

from audiox.cli.outputs import PlannedOutput, plan_outputs
from audiox.errors import AudioXError, InputError

MEDIA_SUFFIXES = (".mp4", ".mkv", ".mov", ".webm", ".avi", ".jpg", ".jpeg", ".png", ".webp", ".bmp")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("prompt", nargs="?", default=None, help="text prompt (optional with --video/--image/--audio)")
    p.add_argument("--model", type=Path, help="model folder: config.json + model.ckpt/model.safetensors (+ vae.ckpt, "
                   "synchformer_state_dict.pth, t5-base/); default: the small model shipped in the package")
    p.add_argument("--video", type=Path, help="video to score (video-to-audio / video-to-music)")
    p.add_argument("--image", type=Path, help="still image (image-to-audio)")
    p.add_argument("--audio", type=Path, help="audio to continue, or to inpaint with --inpaint")
    p.add_argument("--inpaint", type=float, nargs=2, metavar=("START", "END"), help="seconds of --audio to regenerate")
    p.add_argument("--task", choices=["auto", "audio", "music"], default="auto", help="force sound effects or music")
    p.add_argument("--negative", default=None, help="negative text prompt")
    p.add_argument("--duration", type=float, default=10.0, help="seconds to generate (longer runs in windows)")
    p.add_argument("--seconds-start", type=float, default=0.0, help="start of the span in the video / audio")
    p.add_argument("--steps", type=int, default=None, help="sampling steps (default: the model's)")
    p.add_argument("--cfg-scale", type=float, default=None, help="classifier-free guidance (default: the model's)")
    p.add_argument("--sampler", default=None, help="sampler name, e.g. dpmpp-3m-sde, euler, rf-euler, dmd")
    p.add_argument("--sigma-min", type=float, default=None)
    p.add_argument("--sigma-max", type=float, default=None)
    p.add_argument("--seed", type=_seed, default=None,
                   help="random seed, 0 .. 2**64-1 (default: a random one, printed with the output path)")
    p.add_argument("--batch-size", type=int, default=1, help="variations per input")
    p.add_argument("-o", "--output", type=Path, help="output .wav, .flac or .ogg (single input)")
    p.add_argument("--out-dir", type=Path, default=Path("."),
                   help="folder for outputs named after the input and task (default: the current folder)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files (never an input)")
    p.add_argument("--batch", type=Path, help="a folder of videos/images, or a text file with one prompt or media path per line")
    p.add_argument("--raw", action="store_true", help="write raw values (no peak normalisation)")
    p.add_argument("--float", dest="float_wav", action="store_true", help="32-bit float WAV instead of 16-bit PCM")
    p.add_argument("--no-mux", action="store_true", help="do not write the video with the new soundtrack")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--precision", choices=("exact", "fast"), default="exact",
                   help="exact: the official numerics; fast: bf16 steps and VAE decode where the device runs "
                        "bf16 natively, T5 in float32 on a CPU (see benchmarks/README.md for its error)")
    p.add_argument("--t5", type=Path, help="local T5 folder (default: <model>/t5-base, then the HF cache)")
    p.add_argument("--synchformer", type=Path, help="synchformer_state_dict.pth (default: in the model folder)")


def run(args: argparse.Namespace) -> int:
    from audiox.pipeline.request import GenerationRequest  # light: the pipeline is imported after the checks

    if args.output is not None and args.batch is not None:
        raise InputError("-o names one output; with --batch use --out-dir")
    seed = args.seed if args.seed is not None else secrets.randbits(32)
    # every request is validated, and every output path chosen, before the (slow) model load
    jobs = [(name, GenerationRequest(**_request_fields(args), seed=seed, **fields)) for name, fields in _jobs(args)]
    plans = plan_outputs(jobs, output=args.output, out_dir=args.out_dir, overwrite=args.overwrite,
                         mux=not args.no_mux, float_samples=args.float_wav,
                         protected=(args.batch,) if args.batch is not None else ())
    from audiox.pipeline import AudioX

    pipe = AudioX.from_pretrained(args.model, device=args.device, t5=args.t5, synchformer=args.synchformer,
                                  precision=args.precision, progress=not args.quiet)
    failures = 0
    for (name, request), plan in zip(jobs, plans):
        try:
            written = _write(pipe(request), request, args, plan)
            print("\n".join(f"{p}  (seed {request.seed})" for p in written))
        except AudioXError as e:
            if len(jobs) == 1:
                raise
            failures += 1
            print(f"{name}: skipped: {type(e).__name__}: {e}", file=sys.stderr)
    return 1 if failures else 0


def _request_fields(args: argparse.Namespace) -> dict:
    return {
        "negative_text": args.negative, "task": args.task, "duration_s": args.duration,
        "seconds_start": args.seconds_start, "steps": args.steps, "cfg_scale": args.cfg_scale,
        "sampler": args.sampler, "sigma_min": args.sigma_min, "sigma_max": args.sigma_max,
        "batch_size": args.batch_size, "inpaint": tuple(args.inpaint) if args.inpaint else None,
    }


def _jobs(args: argparse.Namespace) -> list[tuple[str, dict]]:
    """(output base name, request fields) per input."""
    if args.batch is None:
        fields = {"text": args.prompt, "video": args.video, "image": args.image, "audio": args.audio}
        if not any(fields.values()):
            raise InputError("nothing to condition on: give a text prompt, --video, --image or --audio")
        return [(_base_name(args.prompt, args.video or args.image or args.audio), fields)]
    return [(_base_name(text, media), dict(text=text, **_media_fields(media))) for text, media in _batch_items(args)]


def _batch_items(args: argparse.Namespace) -> list[tuple[str | None, Path | None]]:
    source: Path = args.batch
    if source.is_dir():
        media = sorted(p for p in source.iterdir() if p.suffix.lower() in MEDIA_SUFFIXES)
        if not media:
            raise InputError(f"{source}: no video or image files ({', '.join(MEDIA_SUFFIXES)})")
        return [(args.prompt, p) for p in media]
    if not source.is_file():
        raise InputError(f"{source}: batch list not found; pass a folder of media or a text file")
    items = []
    for line in source.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            path = Path(line)
            items.append((args.prompt, path) if path.suffix.lower() in MEDIA_SUFFIXES else (line, None))
    if not items:
        raise InputError(f"{source}: empty batch list")
    return items


def _media_fields(media: Path | None) -> dict:
    if media is None:
        return {}
    return {"image": media} if media.suffix.lower() in IMAGE_SUFFIXES else {"video": media}


def _base_name(text: str | None, media: Path | None) -> str:
    if media is not None:
        return media.stem
    slug = re.sub(r"[^a-z0-9]+", "_", (text or "audiox").lower()).strip("_")
    return slug[:48] or "audiox"


def _seed(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer from 0 to 2**64 - 1, got {text!r}") from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"seed must be an integer from 0 to 2**64 - 1, got {text}")
    return value


def _write(output, request, args: argparse.Namespace, plan: list[PlannedOutput]) -> list[Path]:
    from audiox.media.audio import write_audio
    from audiox.media.video import mux_audio_into_video

    written = []
    comment = _provenance(request, args)
    for audio, planned in zip(output.audio, plan):
        planned.audio.parent.mkdir(parents=True, exist_ok=True)
        written.append(write_audio(planned.audio, audio, output.sample_rate, normalize=not args.raw,
                                   sample_format="float" if args.float_wav else "pcm16", comment=comment))
        if planned.video is not None:
            written.append(mux_audio_into_video(request.video, audio, output.sample_rate, planned.video,
                                                request.seconds_start, request.duration_s))
    return written


def _provenance(request, args: argparse.Namespace) -> str:
    """The request as JSON for the file's metadata, so a result can be reproduced from the file alone."""
    fields = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(request).items() if v is not None}
    fields["model"] = str(args.model) if args.model is not None else "shipped"
    return json.dumps(fields, separators=(",", ":"))
