"""Offline lookup of T5 / CLIP folders in a given folder or a fake Hugging Face cache."""

from __future__ import annotations

import os

import pytest

from audiox.checkpoints.local_models import find_clip, find_t5, hf_cache_dirs
from audiox.errors import CheckpointError

T5_FILES = ("config.json", "spiece.model", "model.safetensors")
CLIP_FILES = ("config.json", "model.safetensors")


def _snapshot(cache, repo_folder, revision, files, *, main=True):
    repo = cache / repo_folder
    snap = repo / "snapshots" / revision
    snap.mkdir(parents=True)
    for name in files:
        (snap / name).write_text("x")
    if main:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(revision)
    return snap


@pytest.fixture
def env(tmp_path, monkeypatch):
    """No real cache can leak in: HOME and every HF variable point into tmp_path."""
    for name in ("HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return monkeypatch


def test_default_cache_under_home(tmp_path, env):
    cache = tmp_path / "home" / ".cache" / "huggingface" / "hub"
    snap = _snapshot(cache, "models--google-t5--t5-base", "abc", T5_FILES)
    assert find_t5() == snap


def test_legacy_t5_base_name_is_the_same_model(tmp_path, env):
    env.setenv("HF_HOME", str(tmp_path / "hf"))
    snap = _snapshot(tmp_path / "hf" / "hub", "models--t5-base", "r1", T5_FILES)
    assert find_t5() == snap


def test_hf_hub_cache_wins_and_refs_main_is_preferred(tmp_path, env):
    env.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    _snapshot(tmp_path / "hub", "models--openai--clip-vit-base-patch32", "old", CLIP_FILES, main=False)
    snap = _snapshot(tmp_path / "hub", "models--openai--clip-vit-base-patch32", "new", CLIP_FILES)
    os.utime(snap, (0, 0))  # older mtime: refs/main still wins
    assert find_clip() == snap


def test_incomplete_snapshot_is_skipped(tmp_path, env):
    env.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    _snapshot(tmp_path / "hub", "models--google-t5--t5-base", "partial", ("config.json",))
    (
        tmp_path / "hub" / "models--google-t5--t5-base" / "snapshots" / "partial" / "model.safetensors"
    ).symlink_to(tmp_path / "missing-blob")
    full = _snapshot(tmp_path / "hub", "models--google-t5--t5-base", "full", T5_FILES, main=False)
    assert find_t5() == full


def test_clip_config_only_when_weights_come_from_the_checkpoint(tmp_path, env):
    env.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    snap = _snapshot(tmp_path / "hub", "models--openai--clip-vit-base-patch32", "r", ("config.json",))
    assert find_clip(need_weights=False) == snap
    with pytest.raises(CheckpointError, match=r"lacks model.safetensors / pytorch_model.bin"):
        find_clip()


@pytest.mark.parametrize("layout", ["flat", "named", "cache"])
def test_local_folder_layouts(tmp_path, env, layout):
    root = tmp_path / "models"
    if layout == "flat":
        expected = root
    elif layout == "named":
        expected = root / "t5-base"
    else:
        expected = _snapshot(root, "models--google-t5--t5-base", "r", T5_FILES)
    expected.mkdir(parents=True, exist_ok=True)
    for name in T5_FILES:
        (expected / name).write_text("x")
    assert find_t5(root) == expected


def test_missing_model_message_names_model_places_and_remedy(tmp_path, env):
    env.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(CheckpointError) as info:
        find_t5()
    message = str(info.value)
    assert "google-t5/t5-base == t5-base not found offline" in message
    assert str(tmp_path / "hf" / "hub" / "models--google-t5--t5-base") in message
    assert str(tmp_path / "home" / ".cache" / "huggingface" / "hub") in message
    assert "hf download google-t5/t5-base" in message and "--t5 DIR" in message
    assert "\n" not in message


def test_missing_in_given_folder_does_not_fall_back_to_cache(tmp_path, env):
    cache = tmp_path / "home" / ".cache" / "huggingface" / "hub"
    _snapshot(cache, "models--openai--clip-vit-base-patch32", "r", CLIP_FILES)
    with pytest.raises(CheckpointError, match=r"--clip DIR") as info:
        find_clip(tmp_path / "empty")
    assert f"in {tmp_path / 'empty'}" in str(info.value)


def test_cache_dir_order():
    dirs = hf_cache_dirs({"HF_HUB_CACHE": "/a", "HF_HOME": "/b", "HOME": "/h"})
    assert [str(d) for d in dirs] == ["/a", "/b/hub", "/h/.cache/huggingface/hub"]
    assert [str(d) for d in hf_cache_dirs({"XDG_CACHE_HOME": "/x", "HOME": "/h"})] == ["/x/huggingface/hub"]
