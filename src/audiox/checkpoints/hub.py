"""Hugging Face Hub repositories by id: parse `owner/name[@revision]`, find a snapshot in the local cache,
download files only when the caller asks for it.

Lookups use `huggingface_hub.snapshot_download(local_files_only=True)`, which never touches the network;
`download_files` is the only function here that does, and it refuses while `HF_HUB_OFFLINE` is set.
The cache is chosen from the environment at call time (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub),
so a changed `HF_HOME` is honoured without re-importing huggingface_hub.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from audiox.checkpoints.local_models import WEIGHT_FILES, LocalModel, find_local_model, hf_cache_dirs
from audiox.errors import CheckpointError

TRUE_VALUES = ("1", "ON", "YES", "TRUE")


@dataclass(frozen=True, kw_only=True, slots=True)
class RepoRef:
    """A model repository on the Hub: `repo_id` ("owner/name"), optional revision (branch, tag, commit)."""

    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        return self.repo_id if self.revision is None else f"{self.repo_id}@{self.revision}"


def parse_repo_ref(text: str) -> RepoRef | None:
    """`owner/name` or `owner/name@revision` -> RepoRef; None when `text` is not such an id."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    repo_id, at, revision = text.partition("@")
    if repo_id.count("/") != 1 or (at and not revision.strip()):
        return None
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        return None
    return RepoRef(repo_id=repo_id, revision=revision.strip() or None)


def is_offline(environ: Mapping[str, str] | None = None) -> bool:
    """True when HF_HUB_OFFLINE is set (read now, and as huggingface_hub read it at import)."""
    from huggingface_hub import constants

    env = os.environ if environ is None else environ
    return env.get("HF_HUB_OFFLINE", "").strip().upper() in TRUE_VALUES or bool(constants.HF_HUB_OFFLINE)


def cache_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Hub caches to search, the one huggingface_hub writes to first."""
    return hf_cache_dirs(os.environ if environ is None else environ)


def find_snapshot(ref: RepoRef, environ: Mapping[str, str] | None = None) -> Path | None:
    """The cached snapshot folder of `ref` (its revision, default `main`), or None; never downloads.
    The folder may be partial: callers check the files they need."""
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    for cache in cache_dirs(environ):
        if not (cache / ("models--" + ref.repo_id.replace("/", "--"))).is_dir():
            continue
        try:
            folder = huggingface_hub.snapshot_download(
                ref.repo_id, revision=ref.revision, cache_dir=cache, local_files_only=True
            )
        except (LocalEntryNotFoundError, OSError, ValueError):
            continue
        return Path(folder)
    return None


def download_files(ref: RepoRef, patterns: Sequence[str], environ: Mapping[str, str] | None = None) -> Path:
    """Fetch the files of `ref` matching `patterns` into the cache (huggingface_hub writes each file to a
    temporary name first); returns the snapshot folder. The only network access in audiox."""
    import huggingface_hub

    command = download_command(ref, patterns)
    if is_offline(environ):
        raise CheckpointError(
            f"{ref}: HF_HUB_OFFLINE is set, so nothing is downloaded; unset it, or on a machine with "
            f"internet run `{command}` and copy the Hugging Face cache here"
        )
    cache = cache_dirs(environ)[0]
    try:
        folder = huggingface_hub.snapshot_download(
            ref.repo_id, revision=ref.revision, cache_dir=cache, allow_patterns=list(patterns)
        )
    except _download_errors() as e:  # network, auth, unknown repo or revision: one line for the user
        reason = " ".join(str(e).split())[:300] or type(e).__name__
        raise CheckpointError(
            f"{ref}: download failed ({type(e).__name__}: {reason}); check the repo id and the connection, "
            f"or run `{command}` yourself"
        ) from None
    return Path(folder)


def _download_errors() -> tuple[type[BaseException], ...]:
    """What a failed download raises: huggingface_hub's errors (mostly OSErrors) and its HTTP client's
    transport errors (httpx2, httpx or requests, depending on the huggingface_hub version)."""
    import importlib

    from huggingface_hub import errors

    found: list[type[BaseException]] = [OSError, ValueError]
    found += [getattr(errors, n) for n in ("EntryNotFoundError", "XetDownloadError") if hasattr(errors, n)]
    for module, name in (("httpx2", "HTTPError"), ("httpx", "HTTPError"), ("requests", "RequestException")):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def download_command(ref: RepoRef, files: Sequence[str] = ()) -> str:
    """The `hf download` command line that puts `files` of `ref` (all files when empty) into the cache;
    glob patterns go through `--include` (the CLI ignores them beside plain file names)."""
    revision = f" --revision {ref.revision}" if ref.revision is not None else ""
    if any("*" in name for name in files):
        names = "".join(f" --include '{name}'" for name in files)
    else:
        names = "".join(f" {name}" for name in files)
    return f"hf download {ref.repo_id}{names}{revision}"


def find_or_fetch(model: LocalModel, local_dir: Path | None = None, *, download: bool = False) -> Path:
    """`find_local_model` (a folder or the cache), then, with `download`, fetch the model into the cache
    (safetensors weights; the .bin only for a repo without them). Without `download` a missing model is the
    finder's one-line error plus how to let audiox fetch it."""
    try:
        return find_local_model(model, local_dir)
    except CheckpointError as e:
        if not download:
            raise CheckpointError(f"{e}, or rerun with --download (Python: download=True)") from None
    ref = RepoRef(repo_id=model.repo_id)
    download_files(ref, [*model.fetch_files, "tokenizer_config.json", "special_tokens_map.json"])
    try:
        return find_local_model(model)
    except CheckpointError:
        download_files(ref, [name for name in WEIGHT_FILES if name not in model.fetch_files])
    return find_local_model(model)
