"""Describe a model without loading weights: its config, components with parameter counts, tasks, and files.

Works on every model audiox reads: the shipped model, the folders `train-own` and `train` export, official
downloads, hub repo ids in the local cache (the config is enough), a config.json, or the name of a shipped
official config. The model is built on the `meta` device with the folder's own build options (`audiox.json`)
and its own T5 width (`t5/config.json`), so small models are counted as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from audiox.checkpoints.hub import RepoRef, download_command
from audiox.checkpoints.local_models import T5_BASE, find_local_model
from audiox.checkpoints.model_files import OPTIONS_FILE, SYNCHFORMER_FILE, VAE_FILES, WEIGHT_FILES, ModelFiles
from audiox.conditioning.text_t5 import T5TextEncoder
from audiox.config.parse import load_config
from audiox.config.presets import OFFICIAL_CONFIGS, official_config_path
from audiox.config.schema import AudioXConfig
from audiox.diffusion.model import DiffusionModel, parameter_counts
from audiox.errors import CheckpointError
from audiox.pipeline.load import encoder_options, model_files, read_options

PRESENT, MISSING, ABSENT = "present", "missing", "absent"  # ABSENT: optional and not there
T5_NAME = "t5-base/ | t5/ | HF cache google-t5/t5-base"


@dataclass(frozen=True, kw_only=True, slots=True)
class FileStatus:
    """One file (or folder) a model uses; `state` is PRESENT, MISSING, ABSENT, or "" for a bare config."""

    name: str
    why: str
    state: str = ""
    path: Path | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelInfo:
    source: str
    config: AudioXConfig
    config_path: Path
    parameters: dict[str, int]
    conditioners: list[str]  # "id (type)"
    files: list[FileStatus]
    folder: Path | None = None  # the model folder or cached snapshot (None: a bare config, or nothing cached)
    download_command: str | None = None  # a hub model with files not yet in the cache


def describe_model(source: str | Path | None = None, *, download: bool = False) -> ModelInfo:
    """`source`: None (the shipped model), a model folder, a hub repo id, a config.json, or an official
    config name; an existing path wins over a name. Errors are the loader's one-line errors."""
    if source is not None and Path(source).is_file():
        return _describe_config(str(source), Path(source))
    if source is not None and not Path(source).exists() and str(source) in OFFICIAL_CONFIGS:
        return _describe_config(str(source), official_config_path(str(source)))
    files = model_files(source, download=download, need_weights=False)
    config_path = files.config or (files.folder or Path(files.name)) / "config.json"
    cfg = load_config(config_path)
    model = _meta_model(cfg, read_options(files.options), files.folder)
    statuses = _file_statuses(cfg, files)
    return ModelInfo(
        source=files.name,
        config=cfg,
        config_path=config_path,
        parameters=parameter_counts(model),
        conditioners=_conditioners(cfg),
        files=statuses,
        folder=files.folder,
        download_command=_fetch_command(files, statuses),
    )


def _fetch_command(files: ModelFiles, statuses: list[FileStatus]) -> str | None:
    """The command that fetches what a hub model lacks (its repo files, then T5 when no copy is found)."""
    lacking = {f.name for f in statuses if f.state in (MISSING, ABSENT)}
    commands = [files.download_command] if files.download_command and lacking - {T5_NAME} else []
    if T5_NAME in lacking:
        commands.append(download_command(RepoRef(repo_id=T5_BASE.repo_id), T5_BASE.fetch_files))
    return " && ".join(commands) or None


def tasks(conditioners: list[str]) -> list[str]:
    """The generation tasks a model's conditioners ("id (type)") allow."""
    kinds = " ".join(conditioners)
    found = []
    if "t5" in kinds:
        found += ["text-to-audio", "text-to-music"]
    if "clip" in kinds:
        found += ["video-to-audio", "video-to-music", "image-to-audio"]
    if "t5" in kinds and "clip" in kinds:
        found.append("text+video-to-audio/music")
    if "audio_autoencoder" in kinds:
        found += ["audio inpainting", "music continuation"]
    return found


def _describe_config(source: str, path: Path) -> ModelInfo:
    """A config file alone; the encoder sizes of its folder (`audiox.json`, `t5/`) when it has them."""
    cfg = load_config(path)
    files = [FileStatus(name=name, why=why) for _, name, why, _ in _expected(cfg, None)]
    options_path = path.parent / OPTIONS_FILE
    model = _meta_model(cfg, read_options(options_path if options_path.is_file() else None), path.parent)
    return ModelInfo(
        source=source,
        config=cfg,
        config_path=path,
        parameters=parameter_counts(model),
        conditioners=_conditioners(cfg),
        files=files,
    )


def _conditioners(cfg: AudioXConfig) -> list[str]:
    return [f"{c.id} ({c.type})" for c in (cfg.model.conditioning.configs if cfg.model.conditioning else ())]


def _meta_model(cfg: AudioXConfig, options: dict, folder: Path | None) -> DiffusionModel:
    """The model on `meta` with the folder's encoder sizes (a folder's own T5 sets the text width)."""
    with torch.device("meta"):
        return DiffusionModel(
            cfg, text_encoder=_meta_t5(folder), conditioner_options=encoder_options(options)
        )


def _own_t5(folder: Path | None) -> Path | None:
    """The folder's own T5 (`t5-base/` or `t5/`), as the loader looks for it."""
    for name in ("t5-base", "t5"):
        if folder is not None and (folder / name / "config.json").is_file():
            return folder / name
    return None


def _meta_t5(folder: Path | None) -> T5TextEncoder | None:
    """A weightless stand-in for the folder's own T5, for its width; None: the config's t5_model_name
    gives the width."""
    from transformers import T5Config, T5EncoderModel

    own = _own_t5(folder)
    if own is None:
        return None
    with torch.device("meta"):
        return T5TextEncoder(tokenizer=None, model=T5EncoderModel(T5Config.from_pretrained(own)))


def _expected(cfg: AudioXConfig, files: ModelFiles | None) -> list[tuple[str, str, str, bool]]:
    """(role, file, why, required) of a model with config `cfg`; the repo's own names for an official repo."""
    layout = files.layout if files is not None and files.layout.published else None
    types = {c.type for c in (cfg.model.conditioning.configs if cfg.model.conditioning else ())}
    out = [
        ("config", "config.json", "model config (official schema)", True),
        ("weights", layout.weights[0] if layout else " | ".join(WEIGHT_FILES), "model weights", True),
    ]
    if "t5" in types:
        out.append(("t5", T5_NAME, "T5 text encoder, not in the checkpoint", True))
    if "clip-with-sync-w-empty-feat" in types:
        name = layout.synchformer[0] if layout and layout.synchformer else SYNCHFORMER_FILE
        out.append(("synchformer", name, "Synchformer, for video sync features (video only)", False))
    if layout is None or layout.vae:
        name, required = (layout.vae[0], layout.vae_required) if layout else (" | ".join(VAE_FILES), False)
        out.append(("vae", name, "VAE weights the model file lacks (Turbo, MMDiT)", required))
    return out


def _file_statuses(cfg: AudioXConfig, files: ModelFiles) -> list[FileStatus]:
    found = {
        "config": files.config,
        "weights": files.weights,
        "vae": files.vae,
        "synchformer": files.synchformer,
        "t5": _t5_path(files.folder),
    }
    out = []
    for role, name, why, required in _expected(cfg, files):
        path = found[role]
        state = PRESENT if path is not None else MISSING if required else ABSENT
        if role == "config" and files.layout.shipped_config is not None:
            name, why = f"shipped {files.layout.shipped_config}.json", "official config (the repo has none)"
        out.append(FileStatus(name=name, why=why, state=state, path=path))
    if files.options is not None:
        out.append(
            FileStatus(
                name=OPTIONS_FILE, why="build options and sampler defaults", state=PRESENT, path=files.options
            )
        )
    return out


def _t5_path(folder: Path | None) -> Path | None:
    own = _own_t5(folder)
    if own is not None:
        return own
    try:
        return find_local_model(T5_BASE)
    except CheckpointError:
        return None
