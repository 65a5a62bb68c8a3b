"""Find the external encoders (T5, CLIP) on disk, offline: in a given folder or the local HF cache.

Nothing is downloaded. The returned folder is ready for `from_pretrained(folder, local_files_only=True)`.
A missing model raises `CheckpointError` naming the model, every place searched, and what to do.
Hugging Face cache layout: `<cache>/models--<org>--<name>/snapshots/<revision>/<files>` with
`<cache>/models--<org>--<name>/refs/main` holding the revision of `main`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from audiox.errors import CheckpointError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalModel:
    """An external model we need files of. `files`: groups of alternatives, one of each must exist."""

    label: str
    repo_id: str
    aliases: tuple[str, ...] = ()  # other hub ids serving the same files
    files: tuple[tuple[str, ...], ...] = (("config.json",),)
    flag: str  # CLI option that points at a folder with the files

    @property
    def repo_ids(self) -> tuple[str, ...]:
        return (self.repo_id, *self.aliases)

    @property
    def fetch_files(self) -> tuple[str, ...]:
        """The files to download (not the whole repo, which also holds TF / Flax / ONNX copies)."""
        return (*(name for group in self.files for name in group), WEIGHT_FILES[0])


T5_BASE = LocalModel(
    label="T5 text encoder",
    repo_id="google-t5/t5-base",
    aliases=("t5-base",),
    files=(("config.json",), ("spiece.model", "tokenizer.json")),
    flag="--t5",
)
CLIP_B32 = LocalModel(label="CLIP vision encoder", repo_id="openai/clip-vit-base-patch32", flag="--clip")


def find_t5(local_dir: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> Path:
    """Folder holding `t5-base` (== `google-t5/t5-base`): config, tokenizer and weights."""
    return find_local_model(T5_BASE, local_dir, environ=environ)


def find_clip(
    local_dir: str | Path | None = None,
    *,
    need_weights: bool = True,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """Folder holding `openai/clip-vit-base-patch32`.

    `need_weights=False` when an AudioX checkpoint supplies the CLIP tower (only config.json is needed).
    """
    return find_local_model(CLIP_B32, local_dir, need_weights=need_weights, environ=environ)


def find_local_model(
    model: LocalModel,
    local_dir: str | Path | None = None,
    *,
    need_weights: bool = True,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """First complete folder for `model`: in `local_dir` when given, else in the local HF caches."""
    groups = model.files + ((WEIGHT_FILES,) if need_weights else ())
    if local_dir is not None:
        root = Path(local_dir)
        candidates = [
            root,
            *(root / rid for rid in model.repo_ids),
            *_cache_candidates(model, [root, root / "hub"]),
        ]
    else:
        candidates = _cache_candidates(model, hf_cache_dirs(os.environ if environ is None else environ))
    searched = []
    for folder in candidates:
        lacking = _lacking(folder, groups)
        if not lacking:
            return folder
        searched.append(str(folder) if not folder.is_dir() else f"{folder} (lacks {' / '.join(lacking[0])})")
    raise CheckpointError(_not_found_message(model, searched, local_dir))


def hf_cache_dirs(environ: Mapping[str, str]) -> list[Path]:
    """Hub cache folders to search, most specific first: HF_HUB_CACHE, HF_HOME/hub, the default."""
    names = ("HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HOME")
    env = {name: environ[name] for name in names if name in environ}
    env = {name: value for name, value in env.items() if value}  # set but empty == unset
    dirs = []
    if "HF_HUB_CACHE" in env:
        dirs.append(Path(env["HF_HUB_CACHE"]))
    if "HF_HOME" in env:
        dirs.append(Path(env["HF_HOME"]) / "hub")
    home = Path(env["HOME"]) if "HOME" in env else Path.home()
    cache = Path(env["XDG_CACHE_HOME"]) if "XDG_CACHE_HOME" in env else home / ".cache"
    dirs.append(cache / "huggingface" / "hub")
    return list(dict.fromkeys(p.expanduser() for p in dirs))


def _cache_candidates(model: LocalModel, caches: list[Path]) -> list[Path]:
    """Snapshot folders of `model` in hub caches: `refs/main` first, then newest first."""
    out = []
    for cache in caches:
        for rid in model.repo_ids:
            repo = cache / ("models--" + rid.replace("/", "--"))
            out.extend(_snapshots(repo) or [repo / "snapshots"])
    return out


def _snapshots(repo: Path) -> list[Path]:
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return []
    found = sorted((p for p in snapshots.iterdir() if p.is_dir()), key=lambda p: (-p.stat().st_mtime, p.name))
    ref = repo / "refs" / "main"
    main = snapshots / ref.read_text().strip() if ref.is_file() else None
    if main is not None and main in found:
        found.remove(main)
        found.insert(0, main)
    return found


def _lacking(folder: Path, groups: tuple[tuple[str, ...], ...]) -> list[tuple[str, ...]]:
    """File groups of which `folder` has none (a dangling cache symlink counts as absent)."""
    if not folder.is_dir():
        return list(groups)
    return [group for group in groups if not any((folder / name).is_file() for name in group)]


def _not_found_message(model: LocalModel, searched: list[str], local_dir: str | Path | None) -> str:
    names = " == ".join(model.repo_ids)
    where = f"in {local_dir}" if local_dir is not None else "in the local Hugging Face cache"
    return (
        f"{model.label} {names} not found offline {where}; searched: {', '.join(searched)}; "
        f"on a machine with internet run `hf download {model.repo_id} {' '.join(model.fetch_files)}` and "
        "copy its Hugging Face cache (~/.cache/huggingface/hub) here (or set HF_HOME / HF_HUB_CACHE to it), "
        f"or pass {model.flag} DIR with the model files"
    )
