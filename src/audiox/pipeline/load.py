"""Model folders: load an official (or our own) AudioX model folder into an `AudioX` pipeline, and save one.

A folder holds `config.json` (the official schema) and the weights `model.safetensors` / `model.ckpt` /
`audiox_turbo.ckpt` (official key names), optionally `vae.ckpt` (fills VAE weights the model file lacks,
as the official Turbo loader does), `synchformer_state_dict.pth` (video sync features), a `t5-base/` or
`t5/` folder (else the local Hugging Face cache is searched, offline), and `audiox.json`: our build options
for non-official encoders (`vision_config`, `temporal_sizes`, `text_encoder_dtype`, `synchformer`) and the
model's own sampler defaults (`generation_defaults`: sampler, steps, cfg_scale[, sigma_min, sigma_max]).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from transformers import CLIPVisionConfig

from audiox.checkpoints.convert import write_safetensors_atomic
from audiox.checkpoints.keys import to_internal, to_official
from audiox.checkpoints.local_models import WEIGHT_FILES as CLIP_WEIGHT_FILES
from audiox.checkpoints.local_models import find_clip, find_t5
from audiox.checkpoints.materialize import build_on_meta, load_and_materialize
from audiox.checkpoints.read import read_checkpoint
from audiox.conditioning.sync import CHECKPOINT_PREFIX as SYNCHFORMER_PREFIX
from audiox.conditioning.sync import load_synchformer
from audiox.conditioning.synchformer import Synchformer
from audiox.conditioning.text_t5 import T5TextEncoder, load_t5_text_encoder
from audiox.config.parse import config_to_dict, load_config
from audiox.config.schema import AudioXConfig
from audiox.diffusion.model import DiffusionModel
from audiox.errors import CheckpointError, ConfigError
from audiox.pipeline.core import AudioX, Defaults

WEIGHT_FILES = ("model.safetensors", "model.ckpt", "audiox_turbo.ckpt")
VAE_FILES = ("vae.ckpt", "VAE.ckpt", "vae.safetensors")
SYNCHFORMER_FILE = "synchformer_state_dict.pth"
OPTIONS_FILE = "audiox.json"
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
OWN_MODEL_DIR = Path(__file__).resolve().parent.parent / "assets" / "own_model"


def default_model_dir() -> Path:
    """The model folder shipped inside the package (audiox's own small model, `audiox train-own`): the
    default of `AudioX.from_pretrained()`, `audiox generate` and `audiox bench`."""
    if not (OWN_MODEL_DIR / "config.json").is_file():
        raise CheckpointError(
            f"{OWN_MODEL_DIR}: the package's own model is missing (broken install?); reinstall audiox or pass "
            "--model DIR"
        )
    return OWN_MODEL_DIR


def expected_files(cfg: AudioXConfig) -> list[tuple[str, str]]:
    """(file, why) a folder for `cfg` should hold."""
    files = [("config.json", "model config (official schema)"), (" | ".join(WEIGHT_FILES), "model weights")]
    types = {c.type for c in (cfg.model.conditioning.configs if cfg.model.conditioning else ())}
    if "t5" in types:
        files.append(("t5-base/ (or the local HF cache)", "T5 text encoder, not in the checkpoint"))
    if "clip-with-sync-w-empty-feat" in types:
        files.append((SYNCHFORMER_FILE, "Synchformer, for video sync features"))
    files.append((" | ".join(VAE_FILES), "VAE weights, when the model file lacks them (Turbo)"))
    return files


def load_pipeline(
    path: str | Path | None = None,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    precision: str = "exact",
    t5: str | Path | None = None,
    synchformer: str | Path | None = None,
    progress: bool = False,
) -> AudioX:
    """Build the model from `path/config.json` (None: the shipped own model, `default_model_dir()`), load
    every weight strictly, return the pipeline."""
    folder = default_model_dir() if path is None else Path(path)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: model folder not found; pass a folder with config.json and model weights")
    cfg = load_config(folder / "config.json")
    options = _read_options(folder)
    text_encoder = _text_encoder(cfg, folder, t5, options)
    model = _load_weights(
        lambda: DiffusionModel(cfg, text_encoder=text_encoder, conditioner_options=_conditioner_options(options)),
        folder,
        cfg_name=str(folder / "config.json"),
    )
    defaults = Defaults(**options["generation_defaults"]) if "generation_defaults" in options else None
    return AudioX(
        model, synchformer=_synchformer(cfg, folder, synchformer, options), device=device, dtype=dtype,
        precision=precision, progress=progress, defaults=defaults,
    )


def save_pipeline(pipe: AudioX, folder: str | Path, *, options: dict[str, Any] | None = None) -> Path:
    """Write a model folder that `load_pipeline` reads: config.json, model.safetensors (official keys, config
    in the metadata), the T5 encoder under `t5/`, and `audiox.json` with `options`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config_json = json.dumps(config_to_dict(pipe.model.config), indent=2)
    (folder / "config.json").write_text(config_json)
    tensors = to_official({k: v.detach().cpu() for k, v in pipe.model.state_dict().items()})
    write_safetensors_atomic(tensors, folder / "model.safetensors", {"config": config_json})
    for conditioner in pipe.model.conditioner.conditioners.values():
        encoder = getattr(conditioner, "text_encoder", None)
        if encoder is not None:
            encoder.model.save_pretrained(folder / "t5")
            encoder.tokenizer.save_pretrained(folder / "t5")
    if pipe.synchformer is not None:
        weights = {SYNCHFORMER_PREFIX + k: v.detach().cpu().contiguous() for k, v in pipe.synchformer.state_dict().items()}
        torch.save(weights, folder / SYNCHFORMER_FILE)
    (folder / OPTIONS_FILE).write_text(json.dumps(options or {}, indent=2))
    return folder


def _read_options(folder: Path) -> dict[str, Any]:
    path = folder / OPTIONS_FILE
    if not path.is_file():
        return {}
    try:
        options = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON ({e})") from None
    unknown = set(options) - {"vision_config", "temporal_sizes", "text_encoder_dtype", "synchformer", "generation_defaults"}
    if unknown:
        raise ConfigError(f"{path}: unknown fields {sorted(unknown)}")
    return options


def _conditioner_options(options: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "vision_config" in options:
        out["vision_config"] = CLIPVisionConfig(**options["vision_config"])
    if "temporal_sizes" in options:
        out["temporal_sizes"] = options["temporal_sizes"]
    if "text_encoder_dtype" in options:
        out["text_encoder_dtype"] = DTYPES[options["text_encoder_dtype"]]
    return out


def _text_encoder(cfg: AudioXConfig, folder: Path, t5: str | Path | None, options: dict) -> T5TextEncoder | None:
    specs = [c for c in (cfg.model.conditioning.configs if cfg.model.conditioning else ()) if c.type == "t5"]
    if not specs:
        return None
    if t5 is not None:
        return load_t5_text_encoder(t5)
    for name in ("t5-base", "t5"):
        if (folder / name).is_dir():
            return load_t5_text_encoder(folder / name)
    return load_t5_text_encoder(find_t5())


def _load_weights(build: Callable[[], DiffusionModel], folder: Path, *, cfg_name: str) -> DiffusionModel:
    """Build the model on `meta` (no random init), then assign the folder's weights strictly and recompute
    the non-persistent buffers (`checkpoints.materialize`)."""
    model = build_on_meta(build)
    weights = next((folder / f for f in WEIGHT_FILES if (folder / f).is_file()), None)
    if weights is None:
        raise CheckpointError(f"{folder}: no model weights; expected one of {', '.join(WEIGHT_FILES)}")
    state, _ = read_checkpoint(weights)
    state = to_internal(state)
    vae = next((folder / f for f in VAE_FILES if (folder / f).is_file()), None)
    if vae is not None:
        state = _fill_vae(model, state, vae)
    state = _fill_clip(model, state, folder)
    return load_and_materialize(model, state, config_name=cfg_name, source=weights.name)


def _fill_vae(model: DiffusionModel, state: dict[str, torch.Tensor], vae_path: Path) -> dict[str, torch.Tensor]:
    """VAE weights from `vae.ckpt` (keys `encoder.*` / `decoder.*`) for every VAE copy the model file lacks;
    for the main VAE `vae.ckpt` wins, as in the official Turbo loader."""
    vae_state, _ = read_checkpoint(vae_path)
    prefixes = ["pretransform.model."]
    if model.conditioner is not None:
        prefixes += [f"conditioner.conditioners.{i}.pretransform.model." for i, c in model.conditioner.conditioners.items()
                     if hasattr(c, "pretransform")]
    state = dict(state)
    for prefix in prefixes:
        has_copy = any(k.startswith(prefix) for k in state)
        if prefix == "pretransform.model." or not has_copy:
            state.update({prefix + k: v for k, v in vae_state.items()})
    return state


def _fill_clip(model: DiffusionModel, state: dict[str, torch.Tensor], folder: Path) -> dict[str, torch.Tensor]:
    """CLIP vision-tower weights from the openai/clip-vit-base-patch32 release when the model file has none
    (the official Turbo loader keeps the hub CLIP weights for keys its checkpoint lacks). Looked up in
    `<folder>/clip-vit-base-patch32/`, then the local HF cache; the file's `vision_model.*` and
    `visual_projection.*` keys are used."""
    towers = [
        f"conditioner.conditioners.{cond_id}.visual_encoder_model."
        for cond_id, c in (model.conditioner.conditioners.items() if model.conditioner is not None else ())
        if getattr(c, "visual_encoder_model", None) is not None
    ]
    missing = [p for p in towers if not any(k.startswith(p) for k in state)]
    if not missing:
        return state
    local = folder / "clip-vit-base-patch32"
    clip_folder = find_clip(local if local.is_dir() else None)
    weights = next(clip_folder / f for f in CLIP_WEIGHT_FILES if (clip_folder / f).is_file())
    clip_state, _ = read_checkpoint(weights)
    vision = {k: v for k, v in clip_state.items() if k.startswith(("vision_model.", "visual_projection."))}
    state = dict(state)
    for prefix in missing:
        state.update({prefix + k: v for k, v in vision.items()})
    return state


def _synchformer(cfg: AudioXConfig, folder: Path, path: str | Path | None, options: dict) -> Synchformer | None:
    types = {c.type for c in (cfg.model.conditioning.configs if cfg.model.conditioning else ())}
    if "clip-with-sync-w-empty-feat" not in types:
        return None
    path = Path(path) if path is not None else folder / SYNCHFORMER_FILE
    if not path.is_file():
        return None  # text/audio-only generation works; a video request raises, naming the file
    model = Synchformer(**options["synchformer"]) if "synchformer" in options else None
    return load_synchformer(path, model=model)
