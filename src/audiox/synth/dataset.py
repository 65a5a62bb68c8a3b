"""The synthetic world as a dataset: item `index` is a pure function of (config, index).

Each item is a dict:
    audio        float32 (C, S), S = round(duration_s * sample_rate)
    sample_rate  int
    video        uint8 (F, 3, H, W) at video_fps (absent when video_fps == 0)
    video_fps    float
    image        uint8 (3, H, W) still image
    caption      str (composed from the labels with a per-item generator)
    labels       SceneLabels | MusicLabels
    index        int
`SynthDataset` is map-style (any index, any order, any worker); `SynthStream` is the same world as an
endless IterableDataset sharded over DataLoader workers. Use `collate_synth` as the DataLoader
collate_fn (stacks tensors, keeps captions/labels as lists).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from audiox.errors import InputError
from audiox.synth.captions import compose_caption
from audiox.synth.labels import Labels, MusicLabels
from audiox.synth.music import render_music, sample_music
from audiox.synth.scenes import render_scene, sample_scene
from audiox.synth.video import render_still, render_video


@dataclass(frozen=True, kw_only=True, slots=True)
class SynthConfig:
    """What the world renders. length only sizes the map-style dataset."""

    seed: int = 0
    length: int = 10000
    duration_s: float = 10.0
    sample_rate: int = 44100
    channels: int = 2
    music_prob: float = 0.3
    background_prob: float = 0.5
    video_fps: float = 25.0
    video_height: int = 224
    video_width: int = 224
    with_image: bool = True


def _check(cfg: SynthConfig) -> None:
    if cfg.sample_rate <= 0 or cfg.channels <= 0 or cfg.duration_s <= 0 or cfg.video_fps < 0:
        raise InputError(
            f"SynthConfig: {cfg.sample_rate=}, {cfg.channels=}, {cfg.duration_s=}, {cfg.video_fps=}: "
            "rate, channels and duration must be > 0 and video_fps >= 0"
        )
    if not 0.0 <= cfg.music_prob <= 1.0:
        raise InputError(f"SynthConfig: {cfg.music_prob=} must be in [0, 1]")


def item_generator(cfg: SynthConfig, index: int) -> np.random.Generator:
    """The generator that draws item `index` (independent streams per (seed, index))."""
    if index < 0:
        raise InputError(f"index={index} must be >= 0")
    return np.random.default_rng([cfg.seed, index])


def sample_labels(cfg: SynthConfig, index: int) -> Labels:
    """Labels of item `index` (cheap: nothing is rendered)."""
    rng = item_generator(cfg, index)
    if rng.random() < cfg.music_prob:
        return sample_music(rng, duration_s=cfg.duration_s)
    return sample_scene(rng, duration_s=cfg.duration_s, background_prob=cfg.background_prob)


def render_item(cfg: SynthConfig, index: int) -> dict:
    """Item `index` of the world (see the module docstring for the keys)."""
    _check(cfg)
    labels = sample_labels(cfg, index)
    caption_rng = np.random.default_rng([cfg.seed, index, 1])
    if isinstance(labels, MusicLabels):
        audio = render_music(labels, sample_rate=cfg.sample_rate, channels=cfg.channels)
    else:
        audio = render_scene(labels, sample_rate=cfg.sample_rate, channels=cfg.channels)
    item = {
        "audio": torch.from_numpy(audio),
        "sample_rate": cfg.sample_rate,
        "caption": compose_caption(labels, caption_rng),
        "labels": labels,
        "index": index,
        "video_fps": cfg.video_fps,
    }
    if cfg.video_fps > 0:
        item["video"] = render_video(
            labels, fps=cfg.video_fps, height=cfg.video_height, width=cfg.video_width
        )
    if cfg.with_image:
        item["image"] = render_still(labels, height=cfg.video_height, width=cfg.video_width)
    return item


class SynthDataset(Dataset):
    """Map-style view: `dataset[i]` is `render_item(cfg, i)` for 0 <= i < cfg.length."""

    def __init__(self, cfg: SynthConfig) -> None:
        _check(cfg)
        self.cfg = cfg

    def __len__(self) -> int:
        return self.cfg.length

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.cfg.length:
            raise IndexError(f"index {index} outside [0, {self.cfg.length})")
        return render_item(self.cfg, index)


class SynthStream(IterableDataset):
    """Endless stream of items start, start+1, ...; DataLoader workers take interleaved indices."""

    def __init__(self, cfg: SynthConfig, *, start: int = 0) -> None:
        _check(cfg)
        self.cfg, self.start = cfg, start

    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        index = self.start + worker
        while True:
            yield render_item(self.cfg, index)
            index += workers


def collate_synth(batch: list[dict]) -> dict:
    """Stack audio (B, C, S), video (B, F, 3, H, W), image (B, 3, H, W); lists for the rest."""
    out = {
        "audio": torch.stack([b["audio"] for b in batch]),
        "sample_rate": batch[0]["sample_rate"],
        "caption": [b["caption"] for b in batch],
        "labels": [b["labels"] for b in batch],
        "index": torch.tensor([b["index"] for b in batch]),
        "video_fps": batch[0]["video_fps"],
    }
    for key in ("video", "image"):
        if key in batch[0]:
            out[key] = torch.stack([b[key] for b in batch])
    return out
