"""Audio-prompt conditioners v1 / v2: padding, channels, span masking (at inference), noise injection."""

from __future__ import annotations

import pytest
import torch

from audiox.conditioning.audio_latent import (
    AudioLatentConditionerV1,
    AudioLatentConditionerV2,
    SpanMaskDraws,
    apply_span_mask,
    batch_audio,
    draw_span_mask,
    fix_channels,
    silent_items,
    span_lengths,
)
from audiox.errors import ConfigError, InputError
from tests.conditioning.conftest import audio_config

N = 40  # samples -> 10 latent frames with strides [2, 2]
L = 10


def _v2(start: float = 0.0, end: float = 0.0) -> AudioLatentConditionerV2:
    torch.manual_seed(0)
    cfg = audio_config(latent_seq_len=L, mask_ratio_start=start, mask_ratio_end=end)
    return AudioLatentConditionerV2(cfg, output_dim=8).eval()


def _v1() -> AudioLatentConditionerV1:
    torch.manual_seed(0)
    cond = AudioLatentConditionerV1(audio_config(), output_dim=8, num_empty_frames=L).eval()
    with torch.no_grad():
        cond.empty_audio_feat.normal_()
    return cond


def _audio(batch: int = 2, channels: int = 2, samples: int = N) -> torch.Tensor:
    return torch.randn(batch, channels, samples, generator=torch.Generator().manual_seed(3))


def _noise(batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, 3, L, generator=torch.Generator().manual_seed(4))


def test_quirk_audio_mask_width_is_cond_dim():
    cond = _v2()
    with torch.no_grad():
        tokens, mask = cond(_audio(), noise=_noise())
    assert tokens.shape == (2, 128, 8)
    assert mask.shape == (2, 8)  # official quirk: width = cond_dim
    keys = list(cond.state_dict())
    assert keys[:2] == ["proj_out.weight", "proj_out.bias"] and keys[-2:] == [
        "proj_features_128.weight",
        "proj_features_128.bias",
    ]
    assert any(k.startswith("pretransform.model.encoder.layers.") for k in keys)


def test_right_padding_of_unequal_items():
    cond = _v2()
    a, b = _audio(batch=1), _audio(batch=1)[..., : N - 7]
    padded = torch.cat([a, torch.nn.functional.pad(b, (0, 7))])
    with torch.no_grad():
        ours, _ = cond([a, b], noise=_noise())
        ref, _ = cond(padded, noise=_noise())
    torch.testing.assert_close(ours, ref, rtol=0, atol=0)
    assert batch_audio([a[0], b[0]], channels=2).shape == (2, 2, N)


def test_mixed_mono_and_stereo_items():
    mono, stereo = _audio(batch=1, channels=1), _audio(batch=1)[..., :30]
    batch = batch_audio([mono, stereo], channels=2)
    assert batch.shape == (2, 2, N)
    assert torch.equal(batch[0], mono[0].repeat(2, 1)) and (batch[1, :, 30:] == 0).all()


def test_quirk_v1_silence_is_judged_on_the_raw_item():
    items = [torch.zeros(1, 1, 8), torch.cat([torch.zeros(1, 2, 8), torch.ones(1, 1, 8)], dim=1)]
    assert silent_items(items).tolist() == [True, False]  # item 2 is only silent after dropping channel 3


def test_channel_fix_up():
    mono = _audio(batch=1, channels=1)
    assert torch.equal(fix_channels(mono, 2), mono.repeat(1, 2, 1))
    assert fix_channels(_audio(channels=4), 2).shape == (2, 2, N)
    assert torch.equal(fix_channels(_audio(), 1), _audio().mean(1, keepdim=True))


def test_noise_injection_and_generator_are_deterministic():
    cond = _v2()
    with torch.no_grad():
        a = cond(_audio(), noise=_noise())[0]
        b = cond(_audio(), noise=_noise())[0]
        c = cond(_audio(), generator=torch.Generator().manual_seed(9))[0]
        d = cond(_audio(), generator=torch.Generator().manual_seed(9))[0]
        e = cond(_audio(), generator=torch.Generator().manual_seed(10))[0]
    assert torch.equal(a, b) and torch.equal(c, d) and not torch.equal(c, e)


def test_quirk_audio_span_masking_at_inference():
    cond = _v2(0.25, 0.75)
    assert not cond.training and cond.masks_spans
    draws = SpanMaskDraws(ratios_u=torch.tensor([0.0, 0.999]), starts=torch.tensor([3, 0]))
    audio = _audio() + 5.0  # no natural zeros
    masked = cond.mask_audio(audio, mask_draws=draws)
    lengths = span_lengths(draws.ratios_u, N, 0.25, 0.75)
    assert lengths.tolist() == [10, 29]
    assert (
        (masked[0, :, 3:13] == 0).all() and (masked[0, :, :3] != 0).all() and (masked[0, :, 13:] != 0).all()
    )
    assert (masked[1, :, :29] == 0).all() and (masked[1, :, 29:] != 0).all()
    with torch.no_grad():
        via_forward, _ = cond(audio, noise=_noise(), mask_draws=draws)
        direct, _ = cond.tokens_from_audio(masked, noise=_noise())
    torch.testing.assert_close(via_forward, direct, rtol=0, atol=0)


def test_span_draws_replay_the_official_global_rng_order():
    """rand(B) then one randint per item: a generator seeded like torch.manual_seed gives the same draws."""
    draws = draw_span_mask(3, N, 0.25, 0.75, torch.Generator().manual_seed(1114))
    torch.manual_seed(1114)
    u = torch.rand(3)
    lengths = [int(N * r) for r in u * 0.5 + 0.25]
    starts = [int(torch.randint(0, N - n + 1, (1,))) for n in lengths]
    assert torch.equal(draws.ratios_u, u)
    assert draws.starts.tolist() == starts


def test_no_masking_when_ratios_equal():
    cond = _v2(0.0, 0.0)
    audio = _audio()
    assert cond.mask_audio(audio) is audio


def test_apply_span_mask_zero_length_is_identity():
    audio = _audio()
    assert torch.equal(apply_span_mask(audio, torch.tensor([5, 0]), torch.tensor([0, 0])), audio)


def test_v1_empty_feature_for_silent_items_and_mask_width():
    cond = _v1()
    audio = _audio()
    audio[1] = 0
    with torch.no_grad():
        tokens, mask = cond(audio, noise=_noise())
    assert tokens.shape == (2, L, 8) and mask.shape == (2, 8)
    torch.testing.assert_close(tokens[1], cond.empty_audio_feat[0])
    assert not torch.allclose(tokens[0], cond.empty_audio_feat[0])
    assert list(cond.state_dict())[:3] == ["empty_audio_feat", "proj_out.weight", "proj_out.bias"]


def test_v1_official_empty_feature_length():
    with torch.device("meta"):
        cond = AudioLatentConditionerV1(audio_config(), output_dim=8)
    assert cond.empty_audio_feat.shape == (1, 215, 8)


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [
        (lambda: _v2()(_audio(samples=2 * N), noise=torch.zeros(2, 3, 2 * L)), InputError, "latent_seq_len"),
        (lambda: _v1()(_audio(samples=2 * N), noise=torch.zeros(2, 3, 2 * L)), InputError, "latent frames"),
        (lambda: _v2(0.25, 0.75)(_audio(), noise=_noise()), InputError, "generator"),
        (lambda: _v2()(_audio()), InputError, "noise"),
        (lambda: _v2()(torch.zeros(2, N)), InputError, "expected audio"),
        (lambda: _v2()([torch.zeros(2, 2, N)]), InputError, "items"),
        (
            lambda: AudioLatentConditionerV2(audio_config().__class__(), output_dim=8),
            ConfigError,
            "pretransform_config",
        ),
    ],
)
def test_errors(call, error, text):
    with pytest.raises(error, match=text), torch.no_grad():
        call()
