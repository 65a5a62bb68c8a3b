"""Training examples from a manifest: a target audio window plus its raw conditioning inputs.

Per item (architecture.md §6.1, official `SampleDataset` + `PadCrop_Normalized_T`):
1. read the audio (`audiox.media.audio`), resample to the model rate, force `channels`;
2. pick a window offset among the official candidates (`window_offsets`, multiples of 10 s) with the
   item's torch.Generator, crop/pad it to `sample_size` (right-padded, `padding_mask` marks real audio);
3. optionally flip the sign of the target (p = 0.5); clamp to [-1, 1];
4. build the conditioning inputs: `text_prompt` (caption for the window, or the default sentence),
   `video_prompt` (frames at `video_fps` from `seconds_start`, or None), `video_sync_frames` (the
   precomputed sync features file, or None) and `audio_prompt` by the record type's rule: zeros,
   the same window, or the previous one (`AUDIO_PROMPT_RULES`), always cut from the un-flipped audio.

Randomness: each item draws from its own generator seeded from (seed, epoch, index), so results do
not depend on DataLoader workers or the order items are asked for.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file
from torch.utils.data import Dataset

from audiox.checkpoints.aligned import aligned
from audiox.errors import ConfigError, InputError, MediaError
from audiox.media.audio import crop_or_pad, fix_channels, read_audio
from audiox.media.resample import resample
from audiox.media.video import read_video_prompt
from audiox.training.manifest import ManifestRecord, caption_for_window, default_text_prompt


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainingDataConfig:
    """How examples are cut. `condition_duration_s` is the audio-prompt and video span (10 s)."""

    sample_rate: int
    sample_size: int
    channels: int = 2
    condition_duration_s: float = 10.0
    window_step_s: float = 10.0
    random_crop: bool = True
    random_sign_flip: bool = True
    load_video: bool = True
    video_fps: float = 5.0
    video_size: int = 224
    fill_missing_text: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("sample_rate", "sample_size", "channels", "video_size"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"training data: {name}={getattr(self, name)!r} must be > 0")
        for name in ("condition_duration_s", "window_step_s", "video_fps"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"training data: {name}={getattr(self, name)!r} must be > 0")

    @property
    def prompt_samples(self) -> int:
        """Audio-prompt length in samples: round(condition_duration_s * sample_rate)."""
        return round(self.condition_duration_s * self.sample_rate)

    @property
    def video_shape(self) -> tuple[int, int, int, int]:
        """(F, 3, H, W) of one item's video prompt."""
        frames = round(self.condition_duration_s * self.video_fps)
        return (frames, 3, self.video_size, self.video_size)


def window_offsets(num_samples: int, sample_size: int, sample_rate: int, step_s: float = 10.0) -> list[int]:
    """Official candidate start samples of a training window in a file of `num_samples` samples.

    Candidates are i * sample_rate for whole seconds i = 0, step, 2 step... below the file's whole
    duration d = num_samples // sample_rate, such that the window fits in the file.
    """
    whole_s = num_samples // sample_rate
    step = max(1, round(step_s))
    offsets = []
    for i in range(0, whole_s, step):
        # official quirk: files longer than 20 s never start a window in their last 15 s
        # (`total_duration <= 20 or total_duration - i >= 15` in PadCrop_Normalized_T).
        if i * sample_rate + sample_size <= num_samples and (whole_s <= 20 or whole_s - i >= 15):
            offsets.append(i * sample_rate)
    return offsets


def crop_window(audio: torch.Tensor, offset: int, sample_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """audio: (C, S) -> (chunk: (C, sample_size) right-padded with zeros, padding_mask: (sample_size,) bool)."""
    chunk = crop_or_pad(audio, offset, sample_size, "right")
    padding_mask = torch.zeros(sample_size, dtype=torch.bool)
    padding_mask[: max(0, min(audio.shape[1] - offset, sample_size))] = True
    return chunk, padding_mask


def audio_prompt_start_s(rule: str, seconds_start: int, duration_s: float) -> float | None:
    """Start (s) of the audio prompt for a prompt rule, None for a zero prompt.

    "same": the target window itself; "previous": the `duration_s` before it, or the first
    `duration_s` of the file when the window starts earlier than that (official behaviour).
    """
    if rule == "none":
        return None
    if rule == "same":
        return float(seconds_start)
    if rule == "previous":
        return 0.0 if seconds_start < duration_s else seconds_start - duration_s
    raise InputError(f"unknown audio prompt rule {rule!r}; use 'none', 'same' or 'previous'")


def cut_audio_prompt(
    audio: torch.Tensor, rule: str, seconds_start: int, *, sample_rate: int, duration_s: float
) -> torch.Tensor:
    """audio: (C, S) whole clamped file -> (C, round(duration_s * sample_rate)) prompt, right-padded."""
    length = round(duration_s * sample_rate)
    start_s = audio_prompt_start_s(rule, seconds_start, duration_s)
    if start_s is None:
        return audio.new_zeros(audio.shape[0], length)
    return crop_or_pad(audio, round(start_s * sample_rate), length, "right")


def load_sync_features(path: str | os.PathLike) -> torch.Tensor:
    """Precomputed Synchformer features file (.pt/.pth, .safetensors or .npy) -> (T, D) float32."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: sync feature file not found; fix 'sync_feature' in the manifest")
    suffix = path.suffix.lower()
    try:
        if suffix in (".pt", ".pth"):
            value = torch.load(path, map_location="cpu", weights_only=True)
        elif suffix == ".safetensors":
            tensors = load_file(path)
            value = tensors[next(iter(tensors))] if len(tensors) == 1 else None
        elif suffix == ".npy":
            value = torch.from_numpy(np.load(path, allow_pickle=False))
        else:
            raise MediaError(f"{path}: unknown sync feature format; use .pt, .pth, .safetensors or .npy")
    except (OSError, ValueError, RuntimeError) as exc:
        raise MediaError(f"{path}: cannot read sync features ({' '.join(str(exc).split())})") from exc
    if (
        not isinstance(value, torch.Tensor)
        or value.ndim not in (2, 3)
        or (value.ndim == 3 and value.shape[0] != 1)
    ):
        raise MediaError(f"{path}: expected one (T, D) or (1, T, D) tensor of sync features")
    return aligned(value.reshape(value.shape[-2], value.shape[-1]).float())  # (T, D)


def item_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed for one item, stable across processes and Python versions."""
    digest = hashlib.blake2b(f"{seed}/{epoch}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class ManifestDataset(Dataset):
    """Map-style dataset over manifest records; items are dicts (see `load_example`)."""

    def __init__(self, records: Sequence[ManifestRecord], cfg: TrainingDataConfig) -> None:
        if not records:
            raise ConfigError("training data: the manifest has no records")
        self.records = list(records)
        self.cfg = cfg
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        """Change the random windows and flips drawn for every item (call once per epoch)."""
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict[str, Any]:
        generator = torch.Generator().manual_seed(item_seed(self.cfg.seed, self.epoch, index))
        return self.load_example(index, generator)

    def load_example(self, index: int, generator: torch.Generator) -> dict[str, Any]:
        """One example. Keys: audio (C, sample_size), padding_mask (sample_size,) bool, text_prompt str,
        video_prompt (F, 3, H, W) float32 | None, video_sync_frames (T, D) | None,
        audio_prompt (C, prompt_samples), data_type, seconds_start, seconds_total, path, sign_flipped."""
        cfg, record = self.cfg, self.records[index]
        source = self._read_audio(record)  # (C, S), clamped
        offset = self._draw_offset(source.shape[1], generator)
        audio, padding_mask = crop_window(source, offset, cfg.sample_size)
        flipped = cfg.random_sign_flip and bool(torch.rand((), generator=generator) < 0.5)
        # official quirk: the prompt is cut from the un-flipped source, so after a flip the target
        # and an "audio_condition-audio" prompt of the same window have opposite polarity.
        audio = -audio if flipped else audio
        seconds_start = math.floor(offset / cfg.sample_rate)
        prompt = cut_audio_prompt(
            source,
            record.audio_prompt_rule,
            seconds_start,
            sample_rate=cfg.sample_rate,
            duration_s=cfg.condition_duration_s,
        )
        return {
            "audio": audio,
            "padding_mask": padding_mask,
            "text_prompt": self._text_prompt(record, offset),
            "video_prompt": self._video_prompt(record, seconds_start),
            "video_sync_frames": load_sync_features(record.sync_feature) if record.sync_feature else None,
            "audio_prompt": prompt,
            "data_type": record.type,
            "seconds_start": seconds_start,
            "seconds_total": math.ceil(source.shape[1] / cfg.sample_rate),
            "path": record.path,
            "sign_flipped": flipped,
        }

    def collate(self, examples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """`collate_examples` with this dataset's video shape for items without video."""
        return collate_examples(examples, video_shape=self.cfg.video_shape if self.cfg.load_video else None)

    def _read_audio(self, record: ManifestRecord) -> torch.Tensor:
        audio, rate = read_audio(record.path)
        audio = resample(audio, rate, self.cfg.sample_rate)
        return fix_channels(audio, self.cfg.channels).clamp(-1.0, 1.0)  # (C, S)

    def _draw_offset(self, num_samples: int, generator: torch.Generator) -> int:
        cfg = self.cfg
        if not cfg.random_crop or num_samples <= cfg.sample_size:
            return 0
        offsets = window_offsets(num_samples, cfg.sample_size, cfg.sample_rate, cfg.window_step_s)
        if not offsets:
            return 0
        return offsets[int(torch.randint(len(offsets), (), generator=generator))]

    def _text_prompt(self, record: ManifestRecord, offset: int) -> str:
        start_s = offset / self.cfg.sample_rate
        end_s = start_s + self.cfg.sample_size / self.cfg.sample_rate
        text = caption_for_window(record.caption, start_s, end_s, kind=record.target_kind)
        if not text and self.cfg.fill_missing_text:
            return default_text_prompt(record.type)
        return text

    def _video_prompt(self, record: ManifestRecord, seconds_start: int) -> torch.Tensor | None:
        cfg = self.cfg
        if not cfg.load_video or record.video_path is None:
            return None
        frames = read_video_prompt(
            record.video_path,
            fps=cfg.video_fps,
            start_s=float(seconds_start),
            duration_s=cfg.condition_duration_s,
            size=cfg.video_size,
        )
        return frames.float()  # (F, 3, H, W), values 0..255 (images: 0..1, official scaling)


def collate_examples(
    examples: Sequence[dict[str, Any]], *, video_shape: tuple[int, ...] | None = None
) -> dict[str, Any]:
    """Stack examples into a batch. Tensors gain a leading B; strings and paths become lists.

    Missing video / sync features become zeros (`has_video`, `has_sync` mark the real ones); the
    shape comes from the items that have them, else `video_shape` for video; when no item has them
    and no shape is known the batch value is None.
    """
    if not examples:
        raise InputError("cannot collate an empty list of examples")
    batch: dict[str, Any] = {
        "audio": torch.stack([e["audio"] for e in examples]),  # (B, C, S)
        "padding_mask": torch.stack([e["padding_mask"] for e in examples]),  # (B, S)
        "audio_prompt": torch.stack([e["audio_prompt"] for e in examples]),  # (B, C, P)
        "seconds_start": torch.tensor([e["seconds_start"] for e in examples]),
        "seconds_total": torch.tensor([e["seconds_total"] for e in examples]),
        "sign_flipped": torch.tensor([e["sign_flipped"] for e in examples]),
    }
    for key in ("text_prompt", "data_type", "path"):
        batch[key] = [e[key] for e in examples]
    batch["video_prompt"], batch["has_video"] = stack_optional(examples, "video_prompt", video_shape)
    batch["video_sync_frames"], batch["has_sync"] = stack_optional(examples, "video_sync_frames", None)
    return batch


def stack_optional(
    examples: Sequence[dict[str, Any]], key: str, shape: tuple[int, ...] | None
) -> tuple[torch.Tensor | None, torch.Tensor]:
    """examples[b][key]: a tensor or None -> (stack (B, *shape) with zeros for None, or None when no item
    has one and `shape` is None; present (B,) bool)."""
    present = torch.tensor([e[key] is not None for e in examples])
    shapes = {tuple(e[key].shape) for e in examples if e[key] is not None}
    if len(shapes) > 1:
        raise InputError(f"{key}: items have different shapes {sorted(shapes)}; use one length per batch")
    if shapes:
        shape = shapes.pop()
    if shape is None:
        return None, present
    items = [e[key] if e[key] is not None else torch.zeros(shape) for e in examples]
    return torch.stack(items), present  # (B, *shape)
