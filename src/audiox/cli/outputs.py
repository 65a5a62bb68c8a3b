"""Where `audiox generate` writes: every output path chosen and checked before any generation starts.

Rules (a user's file is never lost):
- an output never lands on an input file (the prompt audio, the video, the image, the batch list);
- no two outputs of one run share a path;
- an existing file is replaced only with `--overwrite`; an explicit `-o` that exists is an error without it,
  a default name moves on to the next free `_2`, `_3`, ... instead;
- default names carry the task (`clip_v2m.wav`, `two_knocks_t2a.wav`, `take_inpaint.wav`), so running another
  task on the same input does not replace the first result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from audiox.errors import InputError
from audiox.media.formats import WRITE_FORMATS

VIDEO_OUT_SUFFIX = ".mp4"
NAME_MAX_BYTES = 255


@dataclass(frozen=True)
class PlannedOutput:
    """The files one generated item goes to: its audio, and the muxed video when the input was a video."""

    audio: Path
    video: Path | None = None

    def paths(self) -> list[Path]:
        return [self.audio] + ([self.video] if self.video is not None else [])


def task_tag(request) -> str:
    """A short name of what a request does: t2a, t2m, v2a, tv2m, i2a, inpaint, cont, ...; `_var` added for
    a variation of an init audio."""
    tag = _mode_tag(request)
    return f"{tag}_var" if getattr(request, "init_audio", None) is not None else tag


def _mode_tag(request) -> str:
    if request.mode == "inpainting":
        return "inpaint"
    if request.mode == "continuation":
        return "cont"
    kind = "m" if request.task == "music" else "a"
    text = "t" if request.text else ""
    if request.image is not None:
        return f"{text}i2{kind}"
    if request.video is not None:
        return f"{text}v2{kind}"
    return f"t2{kind}"


def check_output_suffix(path: Path, float_samples: bool) -> None:
    """Refuse an output format we cannot write, before any work is done."""
    suffix = path.suffix.lower()
    if suffix not in WRITE_FORMATS:
        raise InputError(f"{path}: cannot write {suffix or 'a file without a suffix'}; "
                         f"use one of {', '.join(WRITE_FORMATS)}")
    if float_samples and suffix != ".wav":
        raise InputError(f"{path}: --float writes 32-bit float samples, which only .wav holds; use .wav")


def plan_outputs(
    jobs: list[tuple[str, object]],
    *,
    output: Path | None,
    out_dir: Path,
    overwrite: bool,
    mux: bool,
    float_samples: bool = False,
    protected: tuple[Path, ...] = (),
) -> list[list[PlannedOutput]]:
    """Per job (base name, GenerationRequest), per batch item: the files to write.

    Raises InputError (one line) for an output that would replace an input, a clash inside the run, an
    existing file without `overwrite`, an unwritable format or a folder that cannot be one. `protected`:
    more files of the run's input (a batch list)."""
    inputs = {_key(p) for _, request in jobs for p in _input_paths(request)} | {_key(p) for p in protected}
    taken: set[str] = set()
    if output is not None:
        _check_name_length(output)
        if output.is_dir():
            raise InputError(f"{output}: is a folder; give a file name such as {output / 'out.wav'}, "
                             "or pass the folder as --out-dir")
        check_output_suffix(output, float_samples)
        _check_folder(output.parent if str(output.parent) else Path("."))
    else:
        _check_folder(out_dir)
    plans = []
    for name, request in jobs:
        items = []
        for index in range(request.batch_size):
            tag = f"_{index}" if request.batch_size > 1 else ""
            wants_video = mux and request.video is not None
            if output is not None:
                audio = output.with_name(f"{output.stem}{tag}{output.suffix}")
                planned = _explicit(audio, wants_video, inputs, taken, overwrite)
            else:
                planned = _default(out_dir, f"{name}_{task_tag(request)}{tag}", wants_video, inputs, taken,
                                   overwrite)
            taken.update(_key(p) for p in planned.paths())
            items.append(planned)
        plans.append(items)
    return plans


def _explicit(audio: Path, wants_video: bool, inputs: set[str], taken: set[str], overwrite: bool) -> PlannedOutput:
    planned = PlannedOutput(audio, _video_beside(audio) if wants_video else None)
    for path in planned.paths():
        if _key(path) in inputs:
            raise InputError(f"{path}: that is an input of this run and would be overwritten; choose another -o")
        if _key(path) in taken:
            raise InputError(f"{path}: two outputs of this run would share this path; choose another -o")
        if path.is_dir():
            raise InputError(f"{path}: is a folder; give a file name such as {path / 'out.wav'}")
        if path.exists() and not overwrite:
            raise InputError(f"{path}: file exists; pass --overwrite to replace it or choose another -o")
    return planned


def _default(out_dir: Path, stem: str, wants_video: bool, inputs: set[str], taken: set[str],
             overwrite: bool) -> PlannedOutput:
    for counter in range(1, 10_000):
        name = stem if counter == 1 else f"{stem}_{counter}"
        audio = out_dir / f"{name}.wav"
        planned = PlannedOutput(audio, _video_beside(audio) if wants_video else None)
        if all(_free(p, inputs, taken, overwrite) for p in planned.paths()):
            return planned
    raise InputError(f"{out_dir}: no free output name for {stem}; pick another --out-dir")


def _free(path: Path, inputs: set[str], taken: set[str], overwrite: bool) -> bool:
    key = _key(path)
    if key in inputs or key in taken or path.is_dir():
        return False
    return overwrite or not path.exists()


def _check_name_length(path: Path) -> None:
    """File names longer than the file system allows (255 bytes) fail only at the write: refuse them first."""
    if len(os.fsencode(path.name)) > NAME_MAX_BYTES - 24:  # room for the temporary name's prefix and suffix
        raise InputError(f"{path.name[:40]}...: file name too long ({len(os.fsencode(path.name))} bytes); "
                         "choose a shorter -o")


def _video_beside(audio: Path) -> Path:
    return audio.with_suffix(VIDEO_OUT_SUFFIX)


def _check_folder(folder: Path) -> None:
    """The output folder exists or can be made: no file in the way, writable."""
    for part in [folder, *folder.parents]:
        if part.exists():
            if not part.is_dir():
                raise InputError(f"{part}: is a file, so {folder} cannot be an output folder; pick another")
            if not os.access(part, os.W_OK | os.X_OK):
                raise InputError(f"{part}: not writable; pick an output folder you can write to")
            return


def _input_paths(request) -> list[Path]:
    paths = [getattr(request, name) for name in ("video", "image", "audio", "init_audio")]
    return [Path(p) for p in paths if isinstance(p, (str, os.PathLike))]


def _key(path: Path) -> str:
    """One spelling per file: resolved, so `./a.wav` and `a.wav` (and links) compare equal."""
    return os.path.normcase(str(Path(path).resolve()))
