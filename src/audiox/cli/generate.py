"""Generate audio or music from a text prompt, a video or image, and/or an audio clip.

Without --model the small model shipped in the package is used (16 kHz mono, trained on audiox's synthetic
world: knocks, claps, bells, whistles, tones, chirps, engines, rain, drums, simple music).

Where files go: `-o FILE` (.wav, .flac or .ogg), else the current folder (or --out-dir), named after the
input and the task: clip_v2a.wav (+ clip_v2a.mp4 with the new soundtrack), clip_v2m.wav, take_inpaint.wav,
two_knocks_then_a_bell_t2a.wav. An input file is never overwritten, nor an existing file without
--overwrite (a default name moves on to _2, _3, ... instead). Every path written is printed with its seed;
the seed and the request are also stored in the file's comment metadata.

What comes out: 10 s by default, or the length of the video / init audio when shorter. Inpainting returns
the whole --audio (from --seconds-start) with only the --inpaint range regenerated: outside it the samples
are the input's (at the model's rate and channel count), with a 50 ms crossfade just inside each border.
Continuation returns the --audio followed by --duration seconds of new audio (--new-only: the new part).
A variation (--init-audio) starts sampling from the init audio noised to --init-strength.

Limits: duration 0.01-600 s, steps 1-10000, cfg scale 0-100, sigmas in (0, 10000], batch size 1-64, seed
0 .. 2**64-1, loudness -70-0 LUFS; media: audio files up to 20 minutes, pictures and video frames up to
40 megapixels. Every value is checked before the model loads; a bad one is a one-line error (exit 2).

Examples:
  audiox generate "two knocks then a bell" -o out.wav                       (the shipped model)
  audiox generate "a dog barks twice" --model AudioX/ -o dog.wav
  audiox generate "a dog barks" --model HKUSTAudio/AudioX-MAF --download    (fetched once into the HF cache)
  audiox generate --video clip.mp4 --model AudioX/            (writes clip_v2a.wav and clip_v2a.mp4)
  audiox generate "calm piano" --audio song.wav --model AudioX/             (music continuation)
  audiox generate --audio take.wav --inpaint 2.0 3.5 --model AudioX/        (audio inpainting)
  audiox generate "rain on a tin roof" --init-audio rain.wav --init-strength 0.4    (a variation)
  audiox generate "rain" --loudness -14 -o rain.wav                 (loudness-normalised, needs [loudness])
  audiox generate "rain" --batch prompts.txt --out-dir outs/ --model AudioX/
  torchrun --nproc-per-node 8 -m audiox.cli.main generate --batch prompts.txt --out-dir outs/ --device cuda
                                  (one disjoint shard per rank; a rerun skips finished items: audiox.cli.ranks)
  audiox generate "a new sound" --model AudioX/ --lora runs/lora/export/final/adapter.safetensors:0.8
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
from pathlib import Path

from audiox.cli.model_arg import MODEL_HELP, add_download_argument
from audiox.cli.outputs import PlannedOutput, plan_outputs
from audiox.cli.ranks import Ranks
from audiox.errors import AudioXError, InputError

MEDIA_SUFFIXES = (".mp4", ".mkv", ".mov", ".webm", ".avi", ".jpg", ".jpeg", ".png", ".webp", ".bmp")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("prompt", nargs="?", default=None, help="text prompt (optional with --video/--image/--audio)")
    p.add_argument("--model", help=f"{MODEL_HELP}; default: the small model shipped in the package")
    add_download_argument(p)
    p.add_argument("--lora", action="append", default=[], metavar="ADAPTER[:SCALE]",
                   help="merge a LoRA adapter (`audiox train --lora`) into --model, scaled (default 1); repeatable")
    p.add_argument("--video", type=Path, help="video to score (video-to-audio / video-to-music); the default "
                   "duration follows a shorter clip; a still image given here is taken as --image")
    p.add_argument("--image", type=Path, help="still image (image-to-audio)")
    p.add_argument("--audio", type=Path, help="audio to continue, or to inpaint with --inpaint")
    p.add_argument("--inpaint", type=float, nargs=2, metavar=("START", "END"),
                   help="seconds of --audio to regenerate (inside one 10 s window from --seconds-start); the "
                        "rest of the audio is returned unchanged")
    p.add_argument("--new-only", action="store_true",
                   help="continuation: write only the new audio, not the --audio prompt before it")
    p.add_argument("--init-audio", type=Path,
                   help="variation: start from this audio noised to --init-strength instead of pure noise")
    p.add_argument("--init-strength", type=float, default=None, metavar="S",
                   help="noise level of --init-audio, in (0, 1]: 0.1 stays close, 1 is pure noise (default 0.5)")
    p.add_argument("--task", choices=["auto", "audio", "music"], default="auto", help="force sound effects or music")
    p.add_argument("--negative", default=None, help="negative text prompt")
    p.add_argument("--duration", type=float, default=None,
                   help="seconds to generate, 0.01-600; longer than a window runs in windows (default: 10, or the "
                        "video's / init audio's length when shorter; with --inpaint the rest of --audio)")
    p.add_argument("--seconds-start", type=float, default=0.0,
                   help="start of the span in the video / audio / init audio, >= 0")
    p.add_argument("--steps", type=int, default=None, help="sampling steps, 1-10000 (default: the model's)")
    p.add_argument("--cfg-scale", type=float, default=None,
                   help="classifier-free guidance scale, 0-100 (default: the model's)")
    p.add_argument("--sampler", default=None, help="sampler name, e.g. dpmpp-3m-sde, euler, rf-euler, dmd")
    p.add_argument("--sigma-min", type=float, default=None,
                   help="lowest noise level, > 0 and below --sigma-max (default: the model's)")
    p.add_argument("--sigma-max", type=float, default=None,
                   help="highest noise level, up to 10000 (rectified flow: start time, capped at 1)")
    p.add_argument("--seed", type=_seed, default=None,
                   help="random seed, 0 .. 2**64-1 (default: a random one, printed with the output path)")
    p.add_argument("--batch-size", type=int, default=1, help="variations per input, 1-64")
    p.add_argument("-o", "--output", type=Path, help="output .wav, .flac or .ogg (single input)")
    p.add_argument("--out-dir", type=Path, default=Path("."),
                   help="folder for outputs named after the input and task (default: the current folder)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files (never an input)")
    p.add_argument("--skip-existing", action="store_true",
                   help="resume a --batch: items whose output files exist are skipped (names then never move on "
                        "to _2); always on when launched by torchrun, where each rank takes a disjoint shard")
    p.add_argument("--batch", type=Path, help="a folder of videos/images, or a text file with one prompt or media path per line")
    level = p.add_mutually_exclusive_group()
    level.add_argument("--raw", action="store_true", help="write raw values (no peak normalisation)")
    level.add_argument("--loudness", type=float, default=None, metavar="LUFS",
                       help="normalise each output to this integrated loudness (ITU-R BS.1770), -70 to 0, e.g. "
                            "-14 (streaming) or -23 (broadcast), instead of to peak 1.0; the gain is lowered "
                            "where a sample would clip (needs: pip install 'audiox[loudness]')")
    p.add_argument("--float", dest="float_wav", action="store_true", help="32-bit float WAV instead of 16-bit PCM")
    p.add_argument("--no-mux", action="store_true", help="do not write the video with the new soundtrack")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps, ... (one this machine has)")
    p.add_argument("--precision", choices=("exact", "fast"), default="exact",
                   help="exact: the official numerics; fast: bf16 steps and VAE decode where the device runs "
                        "bf16 natively, T5 in float32 on a CPU (see benchmarks/README.md for its error)")
    p.add_argument("--offload", action="store_true",
                   help="keep only the running stage (conditioners, backbone, VAE) on --device, the rest in host "
                        "memory: for GPUs too small for the whole model (no effect on a CPU)")
    p.add_argument("--t5", type=Path, help="local T5 folder (default: <model>/t5-base, then the HF cache)")
    p.add_argument("--synchformer", type=Path, help="synchformer_state_dict.pth (default: in the model folder)")


def run(args: argparse.Namespace) -> int:
    if args.output is not None and args.batch is not None:
        raise InputError("-o names one output; with --batch use --out-dir")
    ranks = Ranks()
    if os.environ.get("WORLD_SIZE", "1") != "1":  # launched by torchrun: one shard of the batch per rank
        from audiox.cli import ranks as rank_group

        ranks = rank_group.join()
    try:
        return _run(args, ranks)
    finally:
        if ranks.world > 1:
            rank_group.leave(ranks)


def _run(args: argparse.Namespace, ranks: Ranks) -> int:
    device = ranks.device(args.device)
    if device != "cpu":  # the CPU always exists; checking another device imports torch
        from audiox.pipeline.device import check_device

        check_device(device)
    _check_options(args)
    seed = args.seed if args.seed is not None else secrets.randbits(32)
    seed = seed if ranks.world == 1 else _agreed(seed, ranks)
    # every request is validated against its media, and every output path chosen, before the (slow) model load
    jobs, failures = _prepared_jobs(args, seed, report=ranks.rank == 0)
    failures = failures if ranks.rank == 0 else 0  # every rank checks every item; rank 0 reports and counts
    if args.loudness is not None:
        _check_loudness_lengths(jobs)
    resume = args.skip_existing or ranks.world > 1  # names from the list alone, never from existing files
    plans = plan_outputs(jobs, output=args.output, out_dir=args.out_dir, overwrite=args.overwrite or resume,
                         mux=not args.no_mux, float_samples=args.float_wav,
                         protected=(args.batch,) if args.batch is not None else ())
    todo = _shard(jobs, plans, ranks, skip_done=resume and not args.overwrite, quiet=args.quiet)
    if todo:
        failures += _generate(args, device, todo)
    if ranks.world > 1:
        from audiox.cli.ranks import total

        failures = total(failures, ranks)
    return 1 if failures or not jobs else 0


def _agreed(seed: int, ranks: Ranks) -> int:
    from audiox.cli.ranks import agree

    return int(agree(seed, ranks))


def _shard(jobs: list, plans: list, ranks: Ranks, *, skip_done: bool, quiet: bool) -> list:
    """(job, plan) pairs this rank generates: its shard of the batch, without the items whose files all
    exist already when `skip_done` (a rerun of an interrupted batch)."""
    todo = []
    for index, (job, plan) in enumerate(zip(jobs, plans)):
        if not ranks.mine(index):
            continue
        if skip_done and all(path.exists() for planned in plan for path in planned.paths()):
            if not quiet:
                print(f"{shown(plan[0].audio)}: done already, skipped", file=sys.stderr)
            continue
        todo.append((job, plan))
    return todo


def _generate(args: argparse.Namespace, device: str, todo: list) -> int:
    """Load the model once and generate every (job, plan) of `todo`; returns how many failed."""
    from audiox.pipeline import AudioX

    pipe = AudioX.from_pretrained(args.model, device=device, t5=args.t5, synchformer=args.synchformer,
                                  precision=args.precision, offload=args.offload, progress=not args.quiet,
                                  lora=args.lora, download=args.download)
    failures = 0
    for (name, request), plan in todo:
        try:
            output = pipe(request)
            written = _write(output, args, plan)
            print("\n".join(f"{shown(p)}  (seed {request.seed})" for p in written))
        except AudioXError as e:
            if args.batch is None:
                raise
            failures += 1
            _skip(name, e)
    return failures


def _check_options(args: argparse.Namespace) -> None:
    """Options checked before any work: the loudness target (and its extra), the encoder paths."""
    if args.loudness is not None:
        from audiox.media.loudness import check_loudness_target, require_pyloudnorm

        check_loudness_target(args.loudness)
        require_pyloudnorm()
    for flag, path in (("--synchformer", args.synchformer), ("--t5", args.t5)):
        if path is not None and not path.exists():
            raise InputError(f"{flag} {shown(path)}: not found; check the path")


def _check_loudness_lengths(jobs) -> None:
    from audiox.media.loudness import MIN_LOUDNESS_S

    for _, request in jobs:
        if request.duration_s < MIN_LOUDNESS_S and request.mode != "continuation":
            raise InputError(f"--loudness measures at least {MIN_LOUDNESS_S} s of audio; generate that much "
                             f"(--duration {MIN_LOUDNESS_S}) or drop --loudness")


def _prepared_jobs(
    args: argparse.Namespace, seed: int, *, report: bool = True
) -> tuple[list[tuple[str, object]], int]:
    """(name, request) per input: every request's values checked first (no heavy import: a bad value is
    reported at once), then each against its media files (headers only). A single input raises; in a
    --batch a bad item is reported (when `report`) and skipped. Returns (jobs, number skipped)."""
    from audiox.pipeline.request import GenerationRequest

    requests, failures = [], 0
    for name, fields in _jobs(args):
        failures += _guarded(args, name, lambda n=name, f=fields: requests.append(
            (n, GenerationRequest(**_request_fields(args), seed=seed, **f))), report)
    from audiox.pipeline.prepare import prepare_request

    jobs: list[tuple[str, object]] = []
    for name, request in requests:
        failures += _guarded(args, name, lambda n=name, r=request: jobs.append((n, prepare_request(r))), report)
    return jobs, failures


def _guarded(args: argparse.Namespace, name: str, work, report: bool = True) -> int:
    """Run `work()`; 0 when it succeeds. A single input raises its AudioXError; in a --batch the item is
    reported as skipped and 1 is returned."""
    try:
        work()
    except AudioXError as e:
        if args.batch is None:
            raise
        if report:
            _skip(name, e)
        return 1
    return 0


def _skip(name: str, error: AudioXError) -> None:
    print(f"{shown(name)}: skipped: {type(error).__name__}: {error}", file=sys.stderr)


def shown(path: object) -> str:
    """A path or name printable on any terminal: bytes that are not UTF-8 appear as \\xNN."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _request_fields(args: argparse.Namespace) -> dict:
    return {
        "negative_text": args.negative, "task": args.task, "duration_s": args.duration,
        "seconds_start": args.seconds_start, "steps": args.steps, "cfg_scale": args.cfg_scale,
        "sampler": args.sampler, "sigma_min": args.sigma_min, "sigma_max": args.sigma_max,
        "batch_size": args.batch_size, "inpaint": tuple(args.inpaint) if args.inpaint else None,
        "init_audio": args.init_audio, "init_strength": args.init_strength, "new_only": args.new_only,
    }


def _jobs(args: argparse.Namespace) -> list[tuple[str, dict]]:
    """(output base name, request fields) per input."""
    if args.batch is None:
        fields = {"text": args.prompt, "video": args.video, "image": args.image, "audio": args.audio}
        if not any(fields.values()) and args.init_audio is None:
            raise InputError("nothing to condition on: give a text prompt, --video, --image, --audio or --init-audio")
        return [(_base_name(args.prompt, args.video or args.image or args.audio or args.init_audio), fields)]
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
    try:
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        line = source.read_bytes()[: e.start].count(b"\n") + 1
        raise InputError(f"{shown(source)}: line {line} is not valid UTF-8; save the list as UTF-8 text") from None
    items = []
    for line in text.splitlines():
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
    if media is not None:  # at most 120 bytes, so the output's name stays within file-system limits
        raw = os.fsencode(media.stem)
        return media.stem if len(raw) <= 120 else (raw[:120].decode("utf-8", "ignore") or "audiox")
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


def _write(output, args: argparse.Namespace, plan: list[PlannedOutput]) -> list[Path]:
    from audiox.media.audio import write_audio
    from audiox.media.video import mux_audio_into_video

    written = []
    request = output.request  # as run: duration and defaults filled in
    comment = _provenance(request, args)
    for audio, planned in zip(output.audio, plan):
        audio = _leveled(audio, output.sample_rate, args, planned.audio)
        planned.audio.parent.mkdir(parents=True, exist_ok=True)
        written.append(write_audio(planned.audio, audio, output.sample_rate,
                                   normalize=not args.raw and args.loudness is None,
                                   sample_format="float" if args.float_wav else "pcm16", comment=comment))
        if planned.video is not None:
            written.append(mux_audio_into_video(request.video, audio, output.sample_rate, planned.video,
                                                request.seconds_start, request.duration_s))
    return written


def _leveled(audio, sample_rate: int, args: argparse.Namespace, path: Path):
    """audio: (C, S) at --loudness LUFS (when given; a note on stderr when the peak limit kept it lower)."""
    if args.loudness is None:
        return audio
    from audiox.media.loudness import normalize_loudness

    audio, reached = normalize_loudness(audio, sample_rate, args.loudness)
    if reached == float("-inf"):
        print(f"{shown(path)}: silent, so left as is (no loudness to normalise)", file=sys.stderr)
    elif reached < args.loudness - 0.05:
        print(f"{shown(path)}: loudness {reached:.1f} LUFS, not {args.loudness:g}: lowered so no sample clips",
              file=sys.stderr)
    return audio


def _provenance(request, args: argparse.Namespace) -> str:
    """The request as JSON for the file's metadata, so a result can be reproduced from the file alone."""
    fields = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(request).items() if v is not None}
    fields["model"] = str(args.model) if args.model is not None else "shipped"
    if args.loudness is not None:
        fields["loudness_lufs"] = args.loudness
    if args.lora:
        fields["lora"] = list(args.lora)
    return json.dumps(fields, separators=(",", ":"))
