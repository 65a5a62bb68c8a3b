"""The public backbone golden cases through this stage's runners (independent of the shared registry)."""

from __future__ import annotations

import pytest
import torch

from audiox.conformance.case import read_case
from audiox.conformance.cases.backbone import CASE_KINDS, parse_cfg_output
from audiox.conformance.compare import compare, tolerance

BACKBONE_CASES = ["dit_forward", "dit_forward_b", "mmdit_forward", "mmdit_forward_b"]


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("out_cfg1", (1.0, 0.0, False)),
        ("out_cfg1_nomask", (1.0, 0.0, False)),
        ("out_cfg7_phi075", (7.0, 0.75, False)),
        ("out_cfg6_phi05", (6.0, 0.5, False)),
        ("out_cfg7_neg", (7.0, 0.0, True)),
        ("out_cfg12_phi1_neg", (12.0, 1.0, True)),
        ("debug_timestep_embed", None),
    ],
)
def test_parse_cfg_output_names(name, parsed):
    assert parse_cfg_output(name) == parsed


@pytest.mark.parametrize("folder", BACKBONE_CASES)
def test_public_backbone_case(refvectors, folder):
    case = read_case(refvectors / "public" / folder)
    kind = CASE_KINDS[case.kind]
    with torch.no_grad():
        ours = kind.run(case)
    for name, ref in case.outputs.items():
        assert name in ours or name.startswith("debug_"), f"{folder}: {name} not produced"
        if name in ours:
            atol, rtol = tolerance(case, name, ref, kind.default_tolerance(name, ref))
            result = compare(name, ours[name], ref, atol, rtol)
            assert result.ok, f"{folder}: {result.describe()}"
