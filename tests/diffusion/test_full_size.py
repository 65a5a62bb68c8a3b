"""Full-size official configs build on the meta device with exactly the official state-dict keys/shapes."""

from __future__ import annotations

import json

import pytest
import torch

from audiox.checkpoints.keys import to_official
from audiox.config.parse import load_config
from audiox.config.presets import official_config_path
from audiox.diffusion.model import DiffusionModel, parameter_counts
from tests.conftest import REFVECTORS

MANIFESTS = {
    "audiox_turbo_infer_4step": "audiox_turbo_infer_4step.json",
    "audiox_v1": "audiox_v1.json",
}


def build_on_meta(name: str) -> DiffusionModel:
    with torch.device("meta"):
        return DiffusionModel(load_config(official_config_path(name)))


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_full_size_key_set_matches_official(name):
    manifest_path = REFVECTORS / "full_size_keys" / MANIFESTS[name]
    if not manifest_path.is_file():
        pytest.fail(f"{manifest_path} missing: the full-size key manifests ship in tests/golden/data")
    manifest = json.loads(manifest_path.read_text())
    ours = {k: list(v.shape) for k, v in to_official(build_on_meta(name).state_dict()).items()}
    theirs = manifest["keys"]
    missing, extra = sorted(set(theirs) - set(ours)), sorted(set(ours) - set(theirs))
    assert not missing and not extra, f"missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)})"
    wrong = [(k, ours[k], theirs[k]) for k in theirs if ours[k] != theirs[k]]
    assert not wrong, f"shape mismatches: {wrong[:5]}"


def test_full_size_parameter_counts():
    turbo = parameter_counts(build_on_meta("audiox_turbo_infer_4step"))
    assert turbo["backbone"] == 2_217_621_229
    assert turbo["maf_block"] == 60_991_494
    assert turbo["pretransform"] == 156_112_514
    assert turbo["conditioner.audio_prompt"] == 156_190_082
    assert turbo["conditioner.video_prompt"] == 119_826_433
    assert turbo["total"] == 2_710_741_752
    v1 = parameter_counts(build_on_meta("audiox_v1"))
    assert v1["backbone"] == 1_056_828_544
    assert v1["maf_block"] == 0
