"""Offline pre-encoding: cache the frozen encoders' outputs of a manifest, and read the cache back.

For every record (window at offset 0, no sign flip: the cache is deterministic) a shard holds:
  latent_mean, latent_std (C, L)      VAE posterior of the target window (sample: std * eps + mean)
  padding_mask (S,)                   real-audio samples of the window
  text_hidden (T, E), text_mask (T,)  T5 last hidden state of the caption (before `proj_out`) and its mask
  clip_hidden (F, Q, W)               CLIP `last_hidden_state` of the frames (before the temporal
                                      transformer); only for items with a non-blank video
  sync_features (240, W)              precomputed Synchformer features (only when the manifest has them)
  prompt_mean, prompt_std (C, L')     VAE posterior of the audio prompt (the audio conditioner's VAE)
  prompt_audio (C, P)                 the audio-prompt waveform itself, only when the model's audio
                                      conditioner masks random spans of it (v2, mask_ratio_start < end)
`constants.safetensors` holds what the training step's input masking swaps in (masking acts on RAW
inputs): the T5 states of "" (`text_empty_*`) and of each default sentence (`text_default_<kind>_*`,
kind "audio" / "music"), and the VAE posterior of an all-zero prompt (`prompt_zero_mean/std`, (C, L')).
`index.json`: {"version", "num_items", "sample_rate", "sample_size", "encoder_fingerprint" (hash of the
frozen encoders' weights: training checks it), "constants", "shards", "items": [{"item", "shard",
"tensors", "path", "text_prompt", "data_type", "seconds_start", "seconds_total", "prompt_silent"}]}.
All files are written atomically. `CachedDataset` reads a cache for `audiox train --data CACHE_DIR`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor
from torch.utils.data import Dataset

from audiox.checkpoints.aligned import aligned, load_aligned
from audiox.conditioning.audio_latent import AudioLatentConditionerV2, batch_audio, silent_items
from audiox.conditioning.text_t5 import T5TextConditioner
from audiox.conditioning.video_clip import ClipVideoBase, all_zero_items
from audiox.diffusion.model import DiffusionModel
from audiox.errors import ConfigError, InputError
from audiox.training.data import ManifestDataset, stack_optional
from audiox.training.manifest import DEFAULT_TEXT_PROMPTS, target_kind
from audiox.vae.pretransform import AutoencoderPretransform

INDEX_FILE = "index.json"
CONSTANTS_FILE = "constants.safetensors"
CACHE_VERSION = 2


def prompt_conditioner(model: DiffusionModel) -> Any:
    """The audio-prompt conditioner of `model` (the one holding its own VAE copy), or None."""
    conditioners = model.conditioner.conditioners.values() if model.conditioner is not None else ()
    return next((c for c in conditioners if hasattr(c, "pretransform")), None)


def caches_prompt_audio(model: DiffusionModel) -> bool:
    """True when the audio conditioner zeroes random spans of its waveform before its VAE (official v2,
    at every call): latents cannot reproduce that, so the cache keeps the prompt waveform."""
    conditioner = prompt_conditioner(model)
    return isinstance(conditioner, AudioLatentConditionerV2) and conditioner.masks_spans


@torch.no_grad()
def encode_batch(model: DiffusionModel, batch: dict[str, Any], *, keep_prompt_audio: bool = False) -> dict[str, Any]:
    """Frozen-encoder features of a collated batch: {name: (B, ...)} (see the module docstring), plus
    `has_clip` / `prompt_silent` (B,) bool."""
    out: dict[str, Any] = {"padding_mask": batch["padding_mask"]}
    out["latent_mean"], out["latent_std"] = model.pretransform.encode_distribution(batch["audio"].float())
    for conditioner in model.conditioner.conditioners.values():
        if isinstance(conditioner, T5TextConditioner):
            hidden, mask = conditioner.encode_text(list(batch["text_prompt"]))
            out["text_hidden"], out["text_mask"] = hidden.float(), mask
        elif isinstance(conditioner, ClipVideoBase):
            video = batch["video_prompt"]
            if video is not None and bool(batch["has_video"].any()):
                hidden = conditioner.clip_hidden_states(video)  # ((B F), Q, W)
                out["clip_hidden"] = hidden.reshape(video.shape[0], -1, *hidden.shape[1:]).float()  # (B, F, Q, W)
                out["has_clip"] = batch["has_video"] & ~all_zero_items(video)
        elif hasattr(conditioner, "pretransform"):
            prompt = batch_audio(batch["audio_prompt"], channels=conditioner.pretransform.io_channels)
            out["prompt_silent"] = silent_items(batch["audio_prompt"])
            out["prompt_mean"], out["prompt_std"] = encode_prompts(conditioner.pretransform, prompt, out["prompt_silent"])
            if keep_prompt_audio:
                out["prompt_audio"] = batch["audio_prompt"].float()
    if batch["video_sync_frames"] is not None and bool(batch["has_sync"].any()):
        out["sync_features"] = batch["video_sync_frames"]
    return out


def encode_prompts(pretransform: AutoencoderPretransform, prompt: Tensor, silent: Tensor) -> tuple[Tensor, Tensor]:
    """VAE posterior of audio prompts. prompt: (B, C, P), silent: (B,) bool (rows that are all zeros) ->
    mean, std: (B, D, L'). The silent rows (every text- or video-only item: most of a training set) share
    one encode of a zero row instead of one encode each. Bitwise the same as encoding every row when the
    VAE encodes items one by one (`iterate_batch`, as the official and own configs do); otherwise equal up
    to the rounding of batched convolutions."""
    if not bool(silent.any()):
        return pretransform.encode_distribution(prompt)
    zero_mean, zero_std = pretransform.encode_distribution(prompt.new_zeros(1, *prompt.shape[1:]))
    mean = zero_mean.expand(prompt.shape[0], -1, -1).clone()
    std = zero_std.expand(prompt.shape[0], -1, -1).clone()
    if not bool(silent.all()):
        mean[~silent], std[~silent] = pretransform.encode_distribution(prompt[~silent])
    return mean, std


@torch.no_grad()
def encode_constants(model: DiffusionModel, prompt_samples: int) -> dict[str, Tensor]:
    """What input masking swaps in: T5 states of "" and the default sentences, VAE posterior of a silent
    prompt of `prompt_samples` samples (see the module docstring)."""
    out: dict[str, Tensor] = {}
    for conditioner in model.conditioner.conditioners.values():
        if isinstance(conditioner, T5TextConditioner):
            texts = {"text_empty": "", **{f"text_default_{k}": s for k, s in DEFAULT_TEXT_PROMPTS.items()}}
            hidden, mask = conditioner.encode_text(list(texts.values()))
            for i, name in enumerate(texts):
                out[f"{name}_hidden"], out[f"{name}_mask"] = hidden[i].float().contiguous(), mask[i].contiguous()
        elif hasattr(conditioner, "pretransform"):
            silence = torch.zeros(1, conditioner.pretransform.io_channels, prompt_samples)
            mean, std = conditioner.pretransform.encode_distribution(silence)
            out["prompt_zero_mean"], out["prompt_zero_std"] = mean[0].contiguous(), std[0].contiguous()
    return out


def frozen_encoder_fingerprint(model: DiffusionModel) -> str:
    """A hash of every frozen encoder's weights (target VAE encoder, T5, CLIP tower, prompt VAE encoder)."""
    digest = hashlib.blake2b(digest_size=16)
    parts: list[tuple[str, Any]] = [("pretransform", model.pretransform)]
    for cond_id, conditioner in (model.conditioner.conditioners.items() if model.conditioner is not None else ()):
        if isinstance(conditioner, T5TextConditioner) and conditioner.text_encoder is not None:
            parts.append((f"{cond_id}.t5.{conditioner.max_length}", conditioner.text_encoder.model))
        for name in ("visual_encoder_model", "pretransform"):
            parts.append((f"{cond_id}.{name}", getattr(conditioner, name, None)))
    for label, module in parts:
        if module is None:
            continue
        if isinstance(module, AutoencoderPretransform):  # only the VAE encoder and scale make the cache
            label, module = f"{label}.scale={module.scale}", module.model.encoder
        digest.update(label.encode())
        for key, value in sorted(module.state_dict().items()):
            flat = value.detach().cpu().contiguous().reshape(-1)
            digest.update(f"{key}:{tuple(value.shape)}:{value.dtype}".encode())
            digest.update(flat.view(torch.uint8).numpy())  # raw bytes, no copy
    return digest.hexdigest()


def encode_dataset(
    model: DiffusionModel,
    dataset: ManifestDataset,
    out_dir: str | os.PathLike,
    *,
    batch_size: int = 4,
    shard_size: int = 256,
    keep_prompt_audio: bool | None = None,
    progress: bool = False,
) -> Path:
    """Encode every item of `dataset` (deterministic windows) into `out_dir`; returns the index path.

    `keep_prompt_audio`: also cache the prompt waveform (None: only when `caches_prompt_audio(model)`);
    `progress`: a progress bar on stderr."""
    from tqdm.auto import tqdm

    if dataset.cfg.random_crop or dataset.cfg.random_sign_flip:
        raise ConfigError("encode-dataset needs a dataset with random_crop=False and random_sign_flip=False")
    if batch_size <= 0 or shard_size <= 0:
        raise ConfigError(f"batch_size={batch_size} and shard_size={shard_size} must be > 0")
    keep_audio = caches_prompt_audio(model) if keep_prompt_audio is None else keep_prompt_audio
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    items: list[dict[str, Any]] = []
    shard: dict[str, Tensor] = {}
    shards: list[str] = []
    bar = tqdm(total=len(dataset), desc="encode", unit="item", disable=not progress, mininterval=5)
    for start in range(0, len(dataset), batch_size):
        examples = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        bar.update(len(examples))
        batch = dataset.collate(examples)
        features = encode_batch(model, batch, keep_prompt_audio=keep_audio)
        for position, example in enumerate(examples):
            item = start + position
            names = _item_tensor_names(features, batch, position)
            shard.update({f"{item}/{name}": features[name][position].contiguous().cpu() for name in names})
            entry = _item_entry(item, example, f"shard_{len(shards):05d}.safetensors", names)
            entry["prompt_silent"] = bool(features["prompt_silent"][position]) if "prompt_silent" in features else False
            items.append(entry)
            if len(items) % shard_size == 0:
                shards.append(_write_shard(out, len(shards), shard))
                shard = {}
    bar.close()
    if shard:
        shards.append(_write_shard(out, len(shards), shard))
    _write_safetensors(out / CONSTANTS_FILE, encode_constants(model, dataset.cfg.prompt_samples))
    index = {
        "version": CACHE_VERSION, "num_items": len(items), "sample_rate": dataset.cfg.sample_rate,
        "sample_size": dataset.cfg.sample_size, "encoder_fingerprint": frozen_encoder_fingerprint(model),
        "constants": CONSTANTS_FILE, "shards": shards, "items": items,
    }
    return _write_json(out / INDEX_FILE, index)


def _item_tensor_names(features: dict[str, Any], batch: dict[str, Any], position: int) -> list[str]:
    """The per-item tensors of item `position`: optional video / sync only where present."""
    names = [n for n in features if n not in ("has_clip", "prompt_silent")]
    if "clip_hidden" in features and not bool(features["has_clip"][position]):
        names.remove("clip_hidden")
    if "sync_features" in features and not bool(batch["has_sync"][position]):
        names.remove("sync_features")
    return names


def is_cache_dir(data: Any) -> bool:
    """True when `data` names a folder (an encode-dataset cache) rather than a manifest file."""
    return isinstance(data, (str, os.PathLike)) and Path(data).is_dir()


def read_cache_index(cache_dir: str | os.PathLike) -> dict[str, Any]:
    """The index of a cache folder (InputError if it is not one)."""
    path = Path(cache_dir) / INDEX_FILE
    if not path.is_file():
        raise InputError(f"{cache_dir}: no {INDEX_FILE}; run `audiox encode-dataset` to build the cache")
    index = json.loads(path.read_text())
    if index.get("version") != CACHE_VERSION:
        raise InputError(f"{path}: cache version {index.get('version')!r}, expected {CACHE_VERSION}; re-encode")
    return index


def check_cache_matches(model: DiffusionModel, index: dict[str, Any], cache_dir: str | os.PathLike) -> None:
    """ConfigError unless the cache was encoded by `model`'s frozen encoders at its rate and window."""
    mc = model.config
    if (index["sample_rate"], index["sample_size"]) != (mc.sample_rate, mc.sample_size):
        raise ConfigError(
            f"{cache_dir}: cache windows are {index['sample_size']} samples at {index['sample_rate']} Hz, the model "
            f"needs {mc.sample_size} at {mc.sample_rate}; re-run `audiox encode-dataset` with this model"
        )
    if index["encoder_fingerprint"] != frozen_encoder_fingerprint(model):
        raise ConfigError(
            f"{cache_dir}: cache was encoded by other frozen encoders (VAE / T5 / CLIP weights differ); "
            "re-run `audiox encode-dataset` with the model you train"
        )


def load_cached_item(cache_dir: str | os.PathLike, item: int) -> dict[str, Any]:
    """One cached item: its index entry plus {name: tensor}."""
    index = read_cache_index(cache_dir)
    if not 0 <= item < index["num_items"]:
        raise InputError(f"item {item} out of range: the cache holds {index['num_items']} items")
    entry = index["items"][item]
    tensors = load_aligned(Path(cache_dir) / entry["shard"])
    prefix = f"{item}/"
    return {**entry, **{k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}}


@dataclass(frozen=True, kw_only=True, slots=True)
class CachedDataConfig:
    """`seed` keys the resumable sampler's per-item generators (unused by the deterministic cache)."""

    seed: int = 0


class CachedDataset(Dataset):
    """Map-style dataset over an encode-dataset cache; drop-in for `ManifestDataset` in `training.fit`
    (`cfg.seed`, `load_example(index, generator)`, `set_epoch`, `collate`). Items: the cached tensors
    (optional ones None), the index fields, and `prompt_silent`."""

    def __init__(self, cache_dir: str | os.PathLike, cfg: CachedDataConfig | None = None) -> None:
        self.root = Path(cache_dir)
        self.index = read_cache_index(cache_dir)
        if self.index["num_items"] == 0:
            raise ConfigError(f"{cache_dir}: the cache has no items")
        self.cfg = cfg or CachedDataConfig()
        self.constants = load_aligned(self.root / self.index["constants"])
        self.epoch = 0
        self._shards: dict[str, Any] = {}

    def __len__(self) -> int:
        return self.index["num_items"]

    def set_epoch(self, epoch: int) -> None:
        """Kept for the ManifestDataset interface: cached windows do not change between epochs."""
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.load_example(index)

    def load_example(self, index: int, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Item `index` (the generator is not used: nothing is random in a cached item)."""
        entry = self.index["items"][index]
        if entry["shard"] not in self._shards:  # opened lazily, per process (handles do not pickle)
            self._shards[entry["shard"]] = safe_open(str(self.root / entry["shard"]), framework="pt")
        shard = self._shards[entry["shard"]]
        example: dict[str, Any] = {"clip_hidden": None, "sync_features": None}
        example.update({name: aligned(shard.get_tensor(f"{index}/{name}")) for name in entry["tensors"]})
        for key in ("text_prompt", "data_type", "path", "seconds_start", "seconds_total", "prompt_silent"):
            example[key] = entry[key]
        return example

    def collate(self, examples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return collate_cached(examples, self.constants)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_shards": {}}


def collate_cached(examples: Sequence[dict[str, Any]], constants: dict[str, Tensor]) -> dict[str, Any]:
    """Stack cached items into a batch: tensors gain a leading B, strings become lists; `clip_hidden` /
    `sync_features` are zeros where absent (`has_video` / `has_sync`), None when no item has them. Adds
    the masking stand-ins per item: `text_default_*` (by data type), `text_empty_*`, `prompt_zero_*`."""
    if not examples:
        raise InputError("cannot collate an empty list of examples")
    examples = [{"clip_hidden": None, "sync_features": None, **e} for e in examples]  # optional tensors
    first, size = examples[0], len(examples)
    batch: dict[str, Any] = {key: [e[key] for e in examples] for key in ("text_prompt", "data_type", "path")}
    for key in ("seconds_start", "seconds_total", "prompt_silent"):
        batch[key] = torch.tensor([e[key] for e in examples])
    for key in ("latent_mean", "latent_std", "padding_mask", "text_hidden", "text_mask", "prompt_mean",
                "prompt_std", "prompt_audio"):
        if key in first:
            batch[key] = torch.stack([e[key] for e in examples])  # (B, ...)
    batch["clip_hidden"], batch["has_video"] = stack_optional(examples, "clip_hidden", None)
    batch["sync_features"], batch["has_sync"] = stack_optional(examples, "sync_features", None)
    if "text_hidden" in first:
        for part in ("hidden", "mask"):
            kinds = [target_kind(t) for t in batch["data_type"]]
            batch[f"text_default_{part}"] = torch.stack([constants[f"text_default_{k}_{part}"] for k in kinds])
            empty = constants[f"text_empty_{part}"]
            batch[f"text_empty_{part}"] = empty.expand(size, *empty.shape)  # (B, T, E) / (B, T)
    if "prompt_zero_mean" in constants:
        for part in ("mean", "std"):
            batch[f"prompt_zero_{part}"] = constants[f"prompt_zero_{part}"].expand(size, -1, -1)  # (B, C, L')
    return batch


def _item_entry(item: int, example: dict[str, Any], shard: str, names: list[str]) -> dict[str, Any]:
    return {
        "item": item, "shard": shard, "tensors": names, "path": example["path"],
        "text_prompt": example["text_prompt"], "data_type": example["data_type"],
        "seconds_start": example["seconds_start"], "seconds_total": example["seconds_total"],
    }


def _write_shard(out: Path, number: int, tensors: dict[str, Tensor]) -> str:
    name = f"shard_{number:05d}.safetensors"
    _write_safetensors(out / name, tensors)
    return name


def _write_safetensors(path: Path, tensors: dict[str, Tensor]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": "audiox-cache", "version": str(CACHE_VERSION)})
    os.replace(tmp, path)


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)
    return path
