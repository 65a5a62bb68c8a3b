"""Precision policies: `exact` is the official numerics, `fast` (bf16 where native, T5 in float32 on a CPU,
stitched silence encoding) stays within its quality gate, and pipelines of both precisions share a model."""

from __future__ import annotations

import pytest
import torch

from audiox.conditioning.text_t5 import T5TextConditioner
from audiox.conditioning.tiny_encoders import tiny_conditioner_options, tiny_t5
from audiox.config.presets import tiny_config
from audiox.diffusion.model import DiffusionModel
from audiox.errors import ConfigError
from audiox.pipeline import AudioX, GenerationRequest
from audiox.pipeline.precision import Precision, bf16_is_native, resolve_precision

QUALITY_GATE_DB = 20.0  # SNR of the fast output against the exact one


def test_exact_precision_is_the_official_numerics():
    assert resolve_precision("exact", "cpu") == Precision("exact", torch.float32, torch.float32, None)


def test_fast_precision_on_cpu():
    fast = resolve_precision("fast", "cpu")
    half = torch.bfloat16 if bf16_is_native(torch.device("cpu")) else torch.float32
    assert (fast.network_dtype, fast.decode_dtype) == (half, half)
    assert fast.text_encoder_dtype == torch.float32 and fast.stitch_silence


def test_dtype_overrides_the_network_dtype_and_bad_names_are_refused():
    assert resolve_precision("exact", "cpu", torch.bfloat16).network_dtype == torch.bfloat16
    with pytest.raises(ConfigError, match="unknown precision 'turbo'"):
        resolve_precision("turbo", "cpu")


def snr_db(reference: torch.Tensor, other: torch.Tensor) -> float:
    return float(10 * torch.log10(reference.pow(2).mean() / (other - reference).pow(2).mean()))


@pytest.mark.parametrize("cfg_scale", [1.0, 4.0])
def test_fast_generation_is_within_the_quality_gate(pipe, cfg_scale):
    fast = AudioX(pipe.model, synchformer=pipe.synchformer, precision="fast")
    request = GenerationRequest(text="a dog barks", duration_s=2.0, seed=3, steps=4, cfg_scale=cfg_scale)
    exact_audio, fast_audio = pipe(request).audio, fast(request).audio
    assert fast_audio.dtype == torch.float32 and torch.isfinite(fast_audio).all()
    assert snr_db(exact_audio, fast_audio) >= QUALITY_GATE_DB


def test_pipelines_of_both_precisions_share_a_model():
    """The T5 follows the running pipeline's precision: fast casts it to float32 on a CPU, exact back to the
    conditioner's own dtype (here the official float16), so the exact output does not change."""
    options = {**tiny_conditioner_options(), "text_encoder_dtype": torch.float16}
    model = DiffusionModel(tiny_config("mmdit"), text_encoder=tiny_t5(), conditioner_options=options)
    t5 = next(c for c in model.conditioner.conditioners.values() if isinstance(c, T5TextConditioner))
    exact, fast = AudioX(model), AudioX(model, precision="fast")
    request = GenerationRequest(text="rain", duration_s=1.0, seed=2, steps=2)
    before = exact(request).audio
    fast(request)
    assert next(t5.text_encoder.model.parameters()).dtype == torch.float32
    assert torch.equal(exact(request).audio, before)
    assert next(t5.text_encoder.model.parameters()).dtype == torch.float16
