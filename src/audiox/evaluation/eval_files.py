"""The audio files of an evaluation: found in folders, matched by name, read and checked.

A file's name is its path under the folder without the suffix (`dog/001.wav` -> `dog/001`), so a
generated `x.flac` pairs with a reference `x.wav`. Paired metrics (KL, CLAP with captions) need every
name on both sides; the error lists the names that are not.
"""

from __future__ import annotations

from pathlib import Path

import torch

from audiox.errors import InputError, MediaError
from audiox.media.audio import read_audio

AUDIO_SUFFIXES = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".mp3", ".m4a", ".aac", ".opus", ".aif", ".aiff"}
)
SILENCE_PEAK = 1e-5  # -100 dBFS
SHOWN_NAMES = 8


def find_audio(folder: Path, *, role: str, video_audio: bool = False) -> dict[str, Path]:
    """name -> path of every audio file under `folder` (recursive), names sorted.

    video_audio: also take `.mp4` files (their audio track) for names that have no audio file, as a
    folder of generated videos holds (DeSync reads the picture of the same files).
    """
    if not folder.is_dir():
        raise InputError(
            f"--{role} {folder}: not a folder; pass the folder that holds the {role} audio files"
        )
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in AUDIO_SUFFIXES or not path.is_file() or path.name.startswith("."):
            continue
        name = path.relative_to(folder).with_suffix("").as_posix()
        if name in found:
            raise InputError(
                f"--{role}: {found[name].name} and {path.name} have the same name {name!r}; "
                "keep one file per name"
            )
        found[name] = path
    if video_audio:
        for path in sorted(folder.rglob("*.mp4")):
            name = path.relative_to(folder).with_suffix("").as_posix()
            if path.is_file() and not path.name.startswith(".") and name not in found:
                found[name] = path
        found = dict(sorted(found.items()))
    if not found:
        raise InputError(f"--{role} {folder}: no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
    return found


def some_names(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN_NAMES])
    return shown + (f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else "")


def match_names(generated: dict[str, Path], reference: dict[str, Path]) -> list[str]:
    """The names in both folders, sorted; an InputError listing the unmatched ones if any."""
    only_gen = sorted(set(generated) - set(reference))
    only_ref = sorted(set(reference) - set(generated))
    if only_gen or only_ref:
        parts = []
        if only_gen:
            parts.append(f"{len(only_gen)} generated file(s) with no reference: {some_names(only_gen)}")
        if only_ref:
            parts.append(f"{len(only_ref)} reference file(s) with no generated one: {some_names(only_ref)}")
        raise InputError(
            "files are matched by name; "
            + "; ".join(parts)
            + " (pass --allow-unmatched to pair only the names in both)"
        )
    return sorted(generated)


def read_channels(path: Path, *, allow_silent: bool = False) -> tuple[torch.Tensor, int]:
    """(C, S) float32 and the file's sample rate; a MediaError for digital silence or NaNs."""
    audio, sample_rate = read_audio(path)
    if not torch.isfinite(audio).all():
        raise MediaError(f"{path}: contains NaN or inf samples; re-export it")
    if not allow_silent and float(audio.abs().max()) < SILENCE_PEAK:
        raise MediaError(f"{path}: silent (peak below -100 dBFS), its embeddings would mean nothing; "
                         "remove it or pass --allow-silent to score it as it is")
    return audio, sample_rate


def to_mono(audio: torch.Tensor, how: str) -> torch.Tensor:
    """audio: (C, S) -> (S,): the channel "mean", or the "first" channel (the PANNs evaluation's way)."""
    return audio[0] if how == "first" else audio.mean(dim=0)
