"""Event fidelity: an identity "VAE" keeps every kind, one that returns silence keeps none, and a low-pass
one shows up as lost energy in the high band groups only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiox.evaluation.event_fidelity import BAND_GROUPS, MISSED, event_fidelity
from audiox.synth.events import EVENT_KINDS

RATE = 16000


def test_identity_reconstruction_keeps_every_kind(analyser):
    results = event_fidelity(lambda x: x.clone(), analyser, sample_rate=RATE, per_kind=2)
    assert [r.kind for r in results] == list(EVENT_KINDS)
    for r in results:
        assert r.recon_right == r.clean_right and r.recon_heard_as.get(r.kind, 0) == r.recon_right
        assert r.band_db == pytest.approx((0.0,) * BAND_GROUPS)
    assert sum(r.clean_right for r in results) >= 0.9 * 2 * len(EVENT_KINDS)


def test_silent_reconstruction_keeps_nothing(analyser):
    results = event_fidelity(lambda x: torch.zeros_like(x), analyser, sample_rate=RATE, per_kind=1,
                             kinds=("knock", "whistle"))
    assert all(r.recon_right == 0 and r.recon_heard_as == {MISSED: 1} for r in results)
    # silence never adds energy, and loses a lot where the event has it (the analyser's floor bounds the rest)
    assert all(max(r.band_db) <= 1e-6 and min(r.band_db) < -20 for r in results)
    assert "recon 0/1" in results[0].line()


def test_low_pass_reconstruction_loses_only_the_high_bands(analyser):
    def low_pass(x: torch.Tensor) -> torch.Tensor:  # a 65-tap moving average: -> ~0 above ~1 kHz
        kernel = torch.ones(1, 1, 65) / 65
        return torch.nn.functional.conv1d(x, kernel, padding=32)

    (clap,) = event_fidelity(low_pass, analyser, sample_rate=RATE, per_kind=2, kinds=("clap",))
    low, high = np.mean(clap.band_db[:1]), np.mean(clap.band_db[-3:])
    assert high < -15 and high < low - 10


def test_per_kind_must_be_positive(analyser):
    with pytest.raises(ValueError, match="per_kind"):
        event_fidelity(lambda x: x, analyser, sample_rate=RATE, per_kind=0)
