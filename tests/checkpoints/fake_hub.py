"""A fake Hugging Face cache, laid out as huggingface_hub writes it, and guards that fail any network use.

<cache>/models--<owner>--<name>/blobs/<sha256>                       file contents
<cache>/models--<owner>--<name>/snapshots/<commit>/<path> -> ../../blobs/<sha256>   (relative links)
<cache>/models--<owner>--<name>/refs/<revision>                      the commit of a branch or tag
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
from pathlib import Path

import pytest


def add_repo(
    cache: Path, repo_id: str, files: dict[str, Path | bytes | str], *, revision: str = "main"
) -> Path:
    """Put `files` ({path in repo: source file, folder or contents; "" for a folder's files at the top}) into
    `cache` as one commit of `repo_id` on `revision`; returns the snapshot folder."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    commit = hashlib.sha1(f"{repo_id}@{revision}:{sorted(files)}".encode()).hexdigest()
    snapshot = repo / "snapshots" / commit
    for name, source in files.items():
        if isinstance(source, Path) and source.is_dir():
            for inner in sorted(p for p in source.rglob("*") if p.is_file()):
                _add_file(repo, snapshot, str(Path(name) / inner.relative_to(source)), inner.read_bytes())
        else:
            data = source.read_bytes() if isinstance(source, Path) else source
            _add_file(repo, snapshot, name, data.encode() if isinstance(data, str) else data)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / revision).write_text(commit)
    return snapshot


def _add_file(repo: Path, snapshot: Path, name: str, data: bytes) -> None:
    blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    link = snapshot / name
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob, link.parent))


def remove_repo(cache: Path, repo_id: str) -> None:
    shutil.rmtree(cache / ("models--" + repo_id.replace("/", "--")), ignore_errors=True)


@pytest.fixture
def hf_cache(tmp_path, monkeypatch) -> Path:
    """An empty hub cache that HF_HOME points at; HOME moved too, so no real cache can leak in."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    cache = tmp_path / "hf" / "hub"
    cache.mkdir(parents=True)
    return cache


@pytest.fixture
def no_network(monkeypatch) -> list[str]:
    """Any download or socket connection fails the test loudly; returns the attempts made."""
    import huggingface_hub

    attempts: list[str] = []
    real_snapshot_download = huggingface_hub.snapshot_download

    def local_only_snapshot(*args, **kwargs):
        if not kwargs.get("local_files_only"):
            attempts.append(f"snapshot_download{args}")
            raise AssertionError(f"network download attempted: snapshot_download{args} {kwargs}")
        return real_snapshot_download(*args, **kwargs)

    def refuse(name):
        def fail(*args, **kwargs):
            attempts.append(name)
            raise AssertionError(f"network access attempted: {name}{args}")

        return fail

    monkeypatch.setattr(huggingface_hub, "snapshot_download", local_only_snapshot)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse("hf_hub_download"))
    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    return attempts
