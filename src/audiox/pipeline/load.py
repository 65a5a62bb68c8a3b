"""Model folders: load an official (or our own) AudioX model into an `AudioX` pipeline, and save one.

A model is a folder or a Hugging Face repo id in the local cache (`audiox.checkpoints.model_files`: the
official repos' layouts, `download=True` to fetch one). A folder holds `config.json` (the official schema)
and the weights `model.safetensors` / `model.ckpt` / `audiox_turbo.ckpt` (official key names), optionally
`vae.ckpt` (fills VAE weights the model file lacks, as the official Turbo loader does),
`synchformer_state_dict.pth` (video sync features), a `t5-base/` or `t5/` folder (else the local Hugging
Face cache is searched), and `audiox.json`: our build options for non-official encoders (`vision_config`,
`temporal_sizes`, `text_encoder_dtype`, `synchformer`) and the model's own sampler defaults
(`generation_defaults`: sampler, steps, cfg_scale[, sigma_min, sigma_max]).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import CLIPVisionConfig

from audiox.checkpoints.convert import write_safetensors_atomic
from audiox.checkpoints.hub import find_or_fetch
from audiox.checkpoints.keys import to_internal, to_official
from audiox.checkpoints.local_models import CLIP_B32, T5_BASE
from audiox.checkpoints.local_models import WEIGHT_FILES as CLIP_WEIGHT_FILES
from audiox.checkpoints.lora import apply_adapters
from audiox.checkpoints.materialize import build_on_meta, load_and_materialize
from audiox.checkpoints.model_files import (  # noqa: F401 (re-exported: the file names of a model folder)
    FOLDER_LAYOUT,
    OPTIONS_FILE,
    SYNCHFORMER_FILE,
    VAE_FILES,
    WEIGHT_FILES,
    ModelFiles,
    files_in,
    find_model_files,
)
from audiox.checkpoints.read import read_checkpoint
from audiox.conditioning.sync import CHECKPOINT_PREFIX as SYNCHFORMER_PREFIX
from audiox.conditioning.sync import load_synchformer
from audiox.conditioning.synchformer import Synchformer
from audiox.conditioning.text_t5 import T5TextEncoder, load_t5_text_encoder
from audiox.config.parse import config_to_dict, load_config
from audiox.config.schema import AudioXConfig
from audiox.diffusion.model import DiffusionModel
from audiox.errors import CheckpointError
from audiox.pipeline.core import AudioX, Defaults
from audiox.pipeline.options import read_options

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


def model_files(
    path: str | Path | None = None, *, download: bool = False, need_weights: bool = True
) -> ModelFiles:
    """Where the model's files lie: None -> the shipped model; a folder; or a hub repo id `owner/name[@rev]`
    in the local cache (fetched first with `download`; see `audiox.checkpoints.model_files`)."""
    if path is None:
        return files_in(default_model_dir(), FOLDER_LAYOUT, name=str(OWN_MODEL_DIR))
    return find_model_files(path, download=download, need_weights=need_weights)


def load_pipeline(
    path: str | Path | None = None,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    precision: str = "exact",
    offload: bool = False,
    t5: str | Path | None = None,
    synchformer: str | Path | None = None,
    progress: bool = False,
    lora: Sequence[str | Path | tuple[str | Path, float]] = (),
    download: bool = False,
) -> AudioX:
    """Build the model from its config (`path`: a model folder, a Hugging Face repo id such as
    "HKUSTAudio/AudioX-MAF" (local cache; `download=True` fetches what is missing), or None: the shipped own
    model), load every weight strictly, merge the LoRA adapters of `lora` ("FILE", "FILE:SCALE" or (FILE,
    SCALE); each checked against this base, `checkpoints.lora`), return the pipeline (`precision`, `offload`:
    see `AudioX`)."""
    files = model_files(path, download=download)
    config_path = files.config or (files.folder or Path(files.name)) / "config.json"
    cfg = load_config(config_path)
    options = read_options(files.options)
    text_encoder = _text_encoder(cfg, files, t5, download)
    model = _load_weights(
        lambda: DiffusionModel(cfg, text_encoder=text_encoder, conditioner_options=encoder_options(options)),
        files,
        cfg_name=str(config_path),
        download=download,
    )
    if lora:
        apply_adapters(model.backbone, list(lora))
    defaults = Defaults(**options["generation_defaults"]) if "generation_defaults" in options else None
    return AudioX(
        model, synchformer=_synchformer(cfg, files, synchformer, options), device=device, dtype=dtype,
        precision=precision, offload=offload, progress=progress, defaults=defaults,
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




def encoder_options(options: dict[str, Any]) -> dict[str, Any]:
    """`DiffusionModel(conditioner_options=...)` from a folder's `audiox.json` (non-official sizes)."""
    out: dict[str, Any] = {}
    if "vision_config" in options:
        out["vision_config"] = CLIPVisionConfig(**options["vision_config"])
    if "temporal_sizes" in options:
        out["temporal_sizes"] = options["temporal_sizes"]
    if "text_encoder_dtype" in options:
        out["text_encoder_dtype"] = DTYPES[options["text_encoder_dtype"]]
    return out


def _text_encoder(
    cfg: AudioXConfig, files: ModelFiles, t5: str | Path | None, download: bool
) -> T5TextEncoder | None:
    specs = [c for c in (cfg.model.conditioning.configs if cfg.model.conditioning else ()) if c.type == "t5"]
    if not specs:
        return None
    if t5 is not None:
        return load_t5_text_encoder(t5)
    for name in ("t5-base", "t5"):
        if files.folder is not None and (files.folder / name).is_dir():
            return load_t5_text_encoder(files.folder / name)
    return load_t5_text_encoder(find_or_fetch(T5_BASE, download=download))


def _load_weights(
    build: Callable[[], DiffusionModel], files: ModelFiles, *, cfg_name: str, download: bool
) -> DiffusionModel:
    """Build the model on `meta` (no random init), then assign the model's weights strictly and recompute
    the non-persistent buffers (`checkpoints.materialize`)."""
    model = build_on_meta(build)
    if files.weights is None:
        raise CheckpointError(f"{files.name}: no model weights; expected one of {', '.join(WEIGHT_FILES)}")
    state, _ = read_checkpoint(files.weights)
    state = to_internal(state)
    if files.vae is not None:
        state = _fill_vae(model, state, files.vae)
    state = _fill_clip(model, state, files.folder, download=download)
    return load_and_materialize(model, state, config_name=cfg_name, source=files.weights.name)


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


def _fill_clip(
    model: DiffusionModel, state: dict[str, torch.Tensor], folder: Path | None, *, download: bool
) -> dict[str, torch.Tensor]:
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
    local = folder / "clip-vit-base-patch32" if folder is not None else None
    clip_folder = find_or_fetch(CLIP_B32, local if local is not None and local.is_dir() else None,
                                download=download)
    weights = next(clip_folder / f for f in CLIP_WEIGHT_FILES if (clip_folder / f).is_file())
    clip_state, _ = read_checkpoint(weights)
    vision = {k: v for k, v in clip_state.items() if k.startswith(("vision_model.", "visual_projection."))}
    state = dict(state)
    for prefix in missing:
        state.update({prefix + k: v for k, v in vision.items()})
    return state


def _synchformer(
    cfg: AudioXConfig, files: ModelFiles, path: str | Path | None, options: dict
) -> Synchformer | None:
    types = {c.type for c in (cfg.model.conditioning.configs if cfg.model.conditioning else ())}
    if "clip-with-sync-w-empty-feat" not in types:
        return None
    path = Path(path) if path is not None else files.synchformer
    if path is None or not path.is_file():
        return None  # text/audio-only generation works; a video request raises, naming the file
    model = Synchformer(**options["synchformer"]) if "synchformer" in options else None
    return load_synchformer(path, model=model)
