"""Both public VAE golden-vector cases through this stage's case kinds (also covered by tests/golden)."""

import pytest
import torch

from audiox.conformance.case import read_case
from audiox.conformance.cases.vae import CASE_KINDS
from audiox.conformance.compare import compare, tolerance


@pytest.mark.parametrize("name", ["oobleck_vae", "vae_oobleck_b"])
def test_public_vae_case_matches(refvectors, name):
    case = read_case(refvectors / "public" / name)
    kind = CASE_KINDS[case.kind]
    with torch.no_grad():
        ours = kind.run(case)
    for out_name, ref in case.outputs.items():
        if out_name.startswith("debug_"):
            continue
        atol, rtol = tolerance(case, out_name, ref, kind.default_tolerance(out_name, ref))
        result = compare(out_name, ours[out_name], ref, atol, rtol)
        assert result.ok, f"{name}: {result.describe()}"
