"""The conditioning gap: zero for a backbone that ignores its context, non-zero for one that reads it;
`AudioX.context` is the fused context the sampler gets."""

from __future__ import annotations

import pytest
import torch

from audiox.errors import InputError
from audiox.evaluation.bench_sets import BenchSpec, build_bench_set
from audiox.evaluation.conditioning_gap import conditioning_gap
from tests.tiny_pipelines import tiny_pipeline


@pytest.fixture(scope="module")
def pipe():
    return tiny_pipeline("dit")


@pytest.fixture(scope="module")
def t2a_cases(pipe, tmp_path_factory):
    spec = BenchSpec(tasks=("t2a",), num_per_task=3, video_size=16)
    work = tmp_path_factory.mktemp("gap")
    return build_bench_set(spec, sample_rate=pipe.sample_rate, duration_s=pipe.window_s, workdir=work)["t2a"]


def test_context_is_the_fused_context_of_the_request(pipe, t2a_cases):
    a, b = (pipe.context(c.request) for c in t2a_cases[:2])
    assert a.ndim == 3 and a.shape[0] == 1 and a.shape == b.shape
    assert torch.equal(a, pipe.context(t2a_cases[0].request))  # deterministic
    assert not torch.allclose(a, b)  # other caption, other context


def test_a_backbone_that_reads_its_context_shows_a_gap(pipe, t2a_cases):
    gap = conditioning_gap(pipe, t2a_cases, times=(0.5, 0.9))
    assert gap.task == "t2a" and gap.num_cases == 3
    assert gap.loss_own > 0 and gap.loss_swapped != gap.loss_own and gap.loss_empty != gap.loss_own
    assert gap.swap_gain == pytest.approx(gap.loss_swapped / gap.loss_own - 1)
    assert "swap gain" in gap.line()


def test_a_backbone_that_ignores_its_context_shows_none(pipe, t2a_cases, monkeypatch):
    backbone = pipe.model.backbone
    forward = backbone.forward
    monkeypatch.setattr(backbone, "forward", lambda x, t, context: forward(x, t, torch.zeros_like(context)))
    gap = conditioning_gap(pipe, t2a_cases, times=(0.5,))
    assert gap.loss_own == gap.loss_swapped == gap.loss_empty
    assert gap.swap_gain == 0.0


def test_bad_arguments(pipe, t2a_cases, tmp_path):
    with pytest.raises(InputError, match="at least 2 cases"):
        conditioning_gap(pipe, t2a_cases[:1])
    with pytest.raises(InputError, match="noise levels"):
        conditioning_gap(pipe, t2a_cases, times=(0.0,))
    mmdit = tiny_pipeline("mmdit")  # built for exactly one window length
    short = build_bench_set(BenchSpec(tasks=("t2a",), num_per_task=2), sample_rate=mmdit.sample_rate,
                            duration_s=4.0, workdir=tmp_path)["t2a"]
    with pytest.raises(InputError, match="latent frames"):
        conditioning_gap(mmdit, short)
