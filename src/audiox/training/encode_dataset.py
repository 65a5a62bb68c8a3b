"""Offline pre-encoding: cache the frozen encoders' outputs of a manifest to safetensors shards.

For every record (window at offset 0, no sign flip: the cache is deterministic) the cache holds:
  latent_mean, latent_std (C, L)      VAE posterior of the target window (sample: mean + std * eps)
  text_hidden (T, E), text_mask (T,)  T5 last hidden state of the caption and its attention mask
  clip_hidden (F, Q, W)               CLIP tower output of the video frames (only with a video)
  sync_features (240, W)              precomputed Synchformer features (only when the manifest has them)
  prompt_mean, prompt_std (C, L')     VAE posterior of the audio prompt (audio conditioner's VAE)
  padding_mask (S,)                   real-audio samples of the window
Only the trainable projections run after these, so a training step on cached features skips T5,
CLIP and both VAE encoders. Layout: `shard_00000.safetensors` ... with keys "<item>/<name>", and
`index.json` ({"version", "num_items", "sample_rate", "shards", "items": [{"item", "shard", "path",
"text_prompt", "data_type", "seconds_start", "seconds_total"}]}), all written atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from audiox.conditioning.text_t5 import T5TextConditioner
from audiox.conditioning.video_clip import ClipVideoBase
from audiox.diffusion.model import DiffusionModel
from audiox.errors import ConfigError, InputError
from audiox.training.data import ManifestDataset

INDEX_FILE = "index.json"
CACHE_VERSION = 1


@torch.no_grad()
def encode_batch(model: DiffusionModel, batch: dict[str, Any]) -> dict[str, Tensor]:
    """Frozen-encoder features of a collated batch: {name: (B, ...)} (see the module docstring)."""
    out: dict[str, Tensor] = {"padding_mask": batch["padding_mask"]}
    out["latent_mean"], out["latent_std"] = model.pretransform.encode_distribution(batch["audio"].float())
    for conditioner in model.conditioner.conditioners.values():
        if isinstance(conditioner, T5TextConditioner):
            hidden, mask = conditioner.encode_text(list(batch["text_prompt"]))
            out["text_hidden"], out["text_mask"] = hidden.float(), mask
        elif isinstance(conditioner, ClipVideoBase):
            if batch["video_prompt"] is not None and bool(batch["has_video"].any()):
                hidden = conditioner.clip_hidden_states(batch["video_prompt"])  # ((B F), Q, W)
                out["clip_hidden"] = hidden.reshape(len(batch["text_prompt"]), -1, *hidden.shape[1:])
        elif hasattr(conditioner, "pretransform"):
            out["prompt_mean"], out["prompt_std"] = conditioner.pretransform.encode_distribution(batch["audio_prompt"])
    if batch["video_sync_frames"] is not None and bool(batch["has_sync"].any()):
        out["sync_features"] = batch["video_sync_frames"]
    return out


def encode_dataset(
    model: DiffusionModel,
    dataset: ManifestDataset,
    out_dir: str | os.PathLike,
    *,
    batch_size: int = 4,
    shard_size: int = 256,
) -> Path:
    """Encode every item of `dataset` (deterministic windows) into `out_dir`; returns the index path.

    An item without video (or sync features) simply has no `clip_hidden` (`sync_features`) tensor."""
    if dataset.cfg.random_crop or dataset.cfg.random_sign_flip:
        raise ConfigError("encode-dataset needs a dataset with random_crop=False and random_sign_flip=False")
    if batch_size <= 0 or shard_size <= 0:
        raise ConfigError(f"batch_size={batch_size} and shard_size={shard_size} must be > 0")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    items: list[dict[str, Any]] = []
    shard: dict[str, Tensor] = {}
    shards: list[str] = []
    in_shard = 0
    for start in range(0, len(dataset), batch_size):
        examples = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        batch = dataset.collate(examples)
        features = encode_batch(model, batch)
        for position, example in enumerate(examples):
            item = start + position
            for name, value in features.items():
                if name == "clip_hidden" and not bool(batch["has_video"][position]):
                    continue
                if name == "sync_features" and not bool(batch["has_sync"][position]):
                    continue
                shard[f"{item}/{name}"] = value[position].contiguous().cpu()
            items.append(_item_entry(item, example, f"shard_{len(shards):05d}.safetensors"))
            in_shard += 1
            if in_shard == shard_size:
                shards.append(_write_shard(out, len(shards), shard))
                shard, in_shard = {}, 0
    if shard:
        shards.append(_write_shard(out, len(shards), shard))
    index = {
        "version": CACHE_VERSION, "num_items": len(items), "sample_rate": dataset.cfg.sample_rate,
        "sample_size": dataset.cfg.sample_size, "shards": shards, "items": items,
    }
    return _write_json(out / INDEX_FILE, index)


def read_cache_index(cache_dir: str | os.PathLike) -> dict[str, Any]:
    """The index of a cache folder (InputError if it is not one)."""
    path = Path(cache_dir) / INDEX_FILE
    if not path.is_file():
        raise InputError(f"{cache_dir}: no {INDEX_FILE}; run `audiox encode-dataset` to build the cache")
    index = json.loads(path.read_text())
    if index.get("version") != CACHE_VERSION:
        raise InputError(f"{path}: cache version {index.get('version')!r}, expected {CACHE_VERSION}; re-encode")
    return index


def load_cached_item(cache_dir: str | os.PathLike, item: int) -> dict[str, Any]:
    """One cached item: its index entry plus {name: tensor}."""
    index = read_cache_index(cache_dir)
    if not 0 <= item < index["num_items"]:
        raise InputError(f"item {item} out of range: the cache holds {index['num_items']} items")
    entry = index["items"][item]
    tensors = load_file(Path(cache_dir) / entry["shard"])
    prefix = f"{item}/"
    return {**entry, **{k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}}


def _item_entry(item: int, example: dict[str, Any], shard: str) -> dict[str, Any]:
    return {
        "item": item, "shard": shard, "path": example["path"], "text_prompt": example["text_prompt"],
        "data_type": example["data_type"], "seconds_start": example["seconds_start"],
        "seconds_total": example["seconds_total"],
    }


def _write_shard(out: Path, number: int, tensors: dict[str, Tensor]) -> str:
    name = f"shard_{number:05d}.safetensors"
    tmp = out / (name + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": "audiox-cache", "version": str(CACHE_VERSION)})
    os.replace(tmp, out / name)
    return name


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)
    return path
