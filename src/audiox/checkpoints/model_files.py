"""Where a model's files lie: a local folder, or a Hugging Face repo (`owner/name[@revision]`) in the cache.

Roles: `config` (official schema), `weights`, `vae` (fills the VAE a model file lacks), `synchformer` (video
sync features), `options` (`audiox.json`: our build options and sampler defaults). Each role lists
alternative names; the first present wins. The official repositories, as published
(../shared/spec/hub-layouts.md):

    HKUSTAudio/AudioX            config.json, model.ckpt
    HKUSTAudio/AudioX-MAF        config.json, model.ckpt, synchformer_state_dict.pth
    HKUSTAudio/AudioX-MAF-MMDiT  config.json, model.ckpt, VAE.ckpt; the Synchformer of HKUSTAudio/AudioX-MAF
    HKUSTAudio/AudioX-Turbo      audiox_turbo/audiox_turbo.ckpt, pretransform/vae.ckpt,
                                 synchformer/synchformer_state_dict.pth, and no config (audiox ships it)

Any other repo, and every local folder, is read like a folder audiox writes (`FOLDER_LAYOUT`), which also
accepts the Turbo release's subfolders. A local path that exists always wins over a repo id; a repo is
looked up in the cache and downloaded only with `download=True` (see `audiox.checkpoints.hub`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from audiox.checkpoints.hub import (
    RepoRef,
    cache_dirs,
    download_command,
    download_files,
    find_snapshot,
    parse_repo_ref,
)
from audiox.config.presets import official_config_path
from audiox.errors import CheckpointError

WEIGHT_FILES = ("model.safetensors", "model.ckpt", "audiox_turbo.ckpt")
VAE_FILES = ("vae.ckpt", "VAE.ckpt", "vae.safetensors")
SYNCHFORMER_FILE = "synchformer_state_dict.pth"
OPTIONS_FILE = "audiox.json"
TURBO_CONFIG = "audiox_turbo_infer_4step"
DOWNLOAD_HINT = "or rerun with --download (Python: download=True)"


@dataclass(frozen=True, kw_only=True, slots=True)
class Layout:
    """Where each role lies in a model folder or repo (paths relative to it; alternatives in order)."""

    config: tuple[str, ...] = ("config.json",)
    shipped_config: str | None = None  # audiox's copy of the official config, for a repo that has none
    weights: tuple[str, ...]
    vae: tuple[str, ...] = ()
    vae_required: bool = False
    synchformer: tuple[str, ...] = ()
    synchformer_repo: str | None = None  # another repo holding the Synchformer
    extras: tuple[str, ...] = ()  # more files / folders (glob) fetched with the model
    published: bool = True  # the names are the repo's actual files (the download command names them)

    @property
    def patterns(self) -> tuple[str, ...]:
        """Every file of this repo the model can use (the download's allow-list)."""
        own_synchformer = self.synchformer if self.synchformer_repo is None else ()
        config = self.config if self.shipped_config is None else ()
        return (*config, *self.weights, *self.vae, *own_synchformer, *self.extras)


FOLDER_LAYOUT = Layout(
    weights=(*WEIGHT_FILES, "audiox_turbo/audiox_turbo.ckpt"),
    vae=(*VAE_FILES, "pretransform/vae.ckpt"),
    synchformer=(SYNCHFORMER_FILE, f"synchformer/{SYNCHFORMER_FILE}"),
    extras=(OPTIONS_FILE, "t5/*", "t5-base/*", "clip-vit-base-patch32/*"),
    published=False,
)
OFFICIAL_LAYOUTS = {
    "HKUSTAudio/AudioX": Layout(weights=("model.ckpt",)),
    "HKUSTAudio/AudioX-MAF": Layout(weights=("model.ckpt",), synchformer=(SYNCHFORMER_FILE,)),
    "HKUSTAudio/AudioX-MAF-MMDiT": Layout(
        weights=("model.ckpt",),
        vae=("VAE.ckpt",),
        vae_required=True,
        synchformer=(SYNCHFORMER_FILE,),
        synchformer_repo="HKUSTAudio/AudioX-MAF",  # as the official README
    ),
    # the Turbo teacher, pretrained_ckpt/pretrained_ckpt.ckpt, is for training only
    "HKUSTAudio/AudioX-Turbo": Layout(
        config=(),
        shipped_config=TURBO_CONFIG,
        weights=("audiox_turbo/audiox_turbo.ckpt",),
        vae=("pretransform/vae.ckpt",),
        vae_required=True,
        synchformer=(f"synchformer/{SYNCHFORMER_FILE}",),
    ),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelFiles:
    """The files of one model. `folder`: the model folder or cached snapshot (None: nothing cached), where
    `t5/`, `t5-base/` and `clip-vit-base-patch32/` are looked for; `missing`: required files not found."""

    name: str
    folder: Path | None
    config: Path | None
    weights: Path | None
    vae: Path | None = None
    synchformer: Path | None = None
    options: Path | None = None
    missing: tuple[str, ...] = ()
    ref: RepoRef | None = None  # the hub repo, when the model came from the cache
    layout: Layout = FOLDER_LAYOUT

    @property
    def download_command(self) -> str | None:
        """Shell command that fetches this model's files into the cache (hub models only)."""
        return None if self.ref is None else _command(self.ref, self.layout)


def find_model_files(source: str | Path, *, download: bool = False, need_weights: bool = True) -> ModelFiles:
    """`source`: a model folder, or (a str only) a hub repo id `owner/name[@revision]`. A repo missing from
    the cache is fetched when `download` is true, else a one-line `CheckpointError` names the files and the
    command that fetches them. `need_weights=False` (describing a model) needs the config only."""
    path = Path(source).expanduser()
    if path.is_dir():
        return files_in(path, FOLDER_LAYOUT, name=str(source))
    if path.exists():
        raise CheckpointError(
            f"{source} is a file, not a model folder; pass the folder holding config.json and the weights"
        )
    ref = parse_repo_ref(source) if isinstance(source, str) else None
    if ref is None:
        raise CheckpointError(
            f"{source}: model folder not found, and not a Hugging Face repo id (owner/name[@revision]); "
            "pass a folder with config.json and model weights, or a repo id such as HKUSTAudio/AudioX-MAF"
        )
    return hub_model_files(ref, download=download, need_weights=need_weights)


def hub_model_files(ref: RepoRef, *, download: bool = False, need_weights: bool = True) -> ModelFiles:
    """The files of `ref` in the local cache (downloaded first when `download` and any is missing)."""
    layout = OFFICIAL_LAYOUTS.get(ref.repo_id, FOLDER_LAYOUT)
    files = _cached_files(ref, layout)
    wants_synchformer = layout.published and bool(layout.synchformer) and files.synchformer is None
    if download and (files.missing or wants_synchformer):
        download_files(ref, layout.patterns)
        if layout.synchformer_repo is not None and files.synchformer is None:
            download_files(RepoRef(repo_id=layout.synchformer_repo), layout.synchformer)
        files = _cached_files(ref, layout)
    needed = files.missing if need_weights else tuple(m for m in files.missing if m in layout.config)
    if needed:
        raise CheckpointError(_missing_message(files, needed))
    return files


def files_in(folder: Path | None, layout: Layout, *, name: str) -> ModelFiles:
    """Resolve each role of `layout` inside `folder` (None: nothing cached, every role absent)."""
    weights = _first(folder, layout.weights)
    if layout.shipped_config is not None:
        config: Path | None = official_config_path(layout.shipped_config)
    else:
        config = _first(folder, layout.config)
        if config is None and weights is not None and weights.name == "audiox_turbo.ckpt":
            # official quirk: the Turbo release has no config.json; its scripts read
            # configs/audiox_turbo_infer_4step.json
            config = official_config_path(TURBO_CONFIG)
    vae = _first(folder, layout.vae)
    missing = [layout.config[0]] if config is None else []
    if weights is None:
        missing.append(layout.weights[0] if layout.published else " | ".join(layout.weights))
    if layout.vae_required and vae is None:
        missing.append(layout.vae[0])
    return ModelFiles(
        name=name,
        folder=folder,
        config=config,
        weights=weights,
        vae=vae,
        layout=layout,
        synchformer=_first(folder, layout.synchformer) if layout.synchformer_repo is None else None,
        options=_first(folder, (OPTIONS_FILE,)),
        missing=tuple(missing),
    )


def _cached_files(ref: RepoRef, layout: Layout) -> ModelFiles:
    files = replace(files_in(find_snapshot(ref), layout, name=str(ref)), ref=ref)
    if layout.synchformer_repo is not None:
        other = find_snapshot(RepoRef(repo_id=layout.synchformer_repo))
        files = replace(files, synchformer=_first(other, layout.synchformer))
    return files


def _first(folder: Path | None, names: tuple[str, ...]) -> Path | None:
    """First of `names` that is a file in `folder` (a dangling cache link counts as absent)."""
    if folder is None:
        return None
    return next((folder / n for n in names if (folder / n).is_file()), None)


def _command(ref: RepoRef, layout: Layout) -> str:
    command = download_command(ref, layout.patterns if layout.published else ())
    if layout.synchformer_repo is not None:
        command += " && " + download_command(RepoRef(repo_id=layout.synchformer_repo), layout.synchformer)
    return command


def _missing_message(files: ModelFiles, needed: tuple[str, ...]) -> str:
    assert files.ref is not None
    where = (
        f"the cached snapshot {files.folder} lacks"
        if files.folder is not None
        else f"not in the local Hugging Face cache ({cache_dirs()[0]}); needs"
    )
    return (
        f"{files.ref}: {where} {', '.join(needed)}; fetch the model with `{files.download_command}` "
        f"{DOWNLOAD_HINT}"
    )
