"""Full-size official backbones built on the `meta` device: exact official key set and shapes."""

from __future__ import annotations

import json

import pytest
import torch

from audiox.backbone.dit import DiffusionTransformer
from audiox.backbone.mmdit import MMDiffusionTransformer
from audiox.config.parse import parse_section
from audiox.config.schema import BackboneConfig

CASES = [
    ("audiox_v1.json", DiffusionTransformer, 1_056_828_544),
    ("audiox_turbo_infer_4step.json", MMDiffusionTransformer, 2_217_621_229),
]


@pytest.mark.parametrize(("manifest", "cls", "num_params"), CASES)
def test_full_size_backbone_matches_official_keys(refvectors, manifest, cls, num_params):
    data = json.loads((refvectors / "full_size_keys" / manifest).read_text())
    cfg = parse_section(
        BackboneConfig, data["config"]["model"]["diffusion"]["config"], path="model.diffusion.config"
    )
    with torch.device("meta"):
        model = cls(cfg)
    official = {k[len("model.model.") :]: v for k, v in data["keys"].items() if k.startswith("model.model.")}
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert sorted(set(ours) ^ set(official)) == []
    assert {k: v for k, v in ours.items() if official[k] != v} == {}
    assert sum(p.numel() for p in model.parameters()) == num_params
