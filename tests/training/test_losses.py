"""Training losses: objective targets (via diffusion.objectives), padding masks, timestep draws."""

from __future__ import annotations

import math

import pytest
import torch

from audiox.errors import InputError
from audiox.training.losses import (
    diffusion_loss,
    latent_padding_mask,
    mse_loss,
    noised_input_and_target,
    sample_timesteps,
    sobol_engine,
)


def tensors(batch_size: int = 3, channels: int = 4, length: int = 6):
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(batch_size, channels, length, generator=generator)
    noise = torch.randn(batch_size, channels, length, generator=generator)
    return x0, noise


def test_v_objective_endpoints_and_formula():
    x0, noise = tensors()
    z, target = noised_input_and_target("v", x0, noise, torch.zeros(3))
    assert torch.allclose(z, x0) and torch.allclose(target, noise)  # t = 0: clean input, v = eps
    t = torch.tensor([0.0, 0.5, 1.0])
    z, target = noised_input_and_target("v", x0, noise, t)
    a, s = math.cos(math.pi / 4), math.sin(math.pi / 4)
    assert torch.allclose(z[1], a * x0[1] + s * noise[1])
    assert torch.allclose(target[1], a * noise[1] - s * x0[1])
    assert torch.allclose(z[2], noise[2], atol=1e-6) and torch.allclose(target[2], -x0[2], atol=1e-6)


def test_rectified_flow_objective():
    x0, noise = tensors()
    t = torch.tensor([0.0, 0.25, 1.0])
    z, target = noised_input_and_target("rectified_flow", x0, noise, t)
    assert torch.allclose(z[1], 0.75 * x0[1] + 0.25 * noise[1])
    assert torch.equal(z[2], noise[2]) and torch.equal(target, noise - x0)


def test_loss_is_mse_against_the_target():
    x0, noise = tensors()
    t = torch.full((3,), 0.3)
    output = torch.zeros_like(x0)
    for objective in ("v", "rectified_flow"):
        _, target = noised_input_and_target(objective, x0, noise, t)
        assert torch.allclose(diffusion_loss(objective, output, x0, noise, t), (target**2).mean())
        assert diffusion_loss(objective, target, x0, noise, t) == 0


def test_masked_mse_averages_real_positions_only():
    output = torch.zeros(2, 2, 4)
    target = torch.arange(16, dtype=torch.float32).reshape(2, 2, 4)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    picked = torch.cat([target[0, :, :2].flatten(), target[1].flatten()])
    assert torch.allclose(mse_loss(output, target, mask), (picked**2).mean())
    assert torch.allclose(mse_loss(output, target, None), (target**2).mean())


def test_padding_mask_in_samples_is_resized_nearest_to_latents():
    samples = torch.tensor([[True] * 6 + [False] * 4])  # (1, S=10)
    assert latent_padding_mask(samples, 4).tolist() == [[True, True, True, False]]  # samples 0, 2, 5, 7
    x0, noise = tensors(1, 2, 4)
    t = torch.tensor([0.5])
    output = torch.randn(1, 2, 4)
    via_samples = diffusion_loss("rectified_flow", output, x0, noise, t, padding_mask=samples)
    via_latents = diffusion_loss(
        "rectified_flow", output, x0, noise, t, padding_mask=latent_padding_mask(samples, 4)
    )
    assert torch.equal(via_samples, via_latents)
    _, target = noised_input_and_target("rectified_flow", x0, noise, t)
    assert torch.allclose(via_samples, ((output - target)[..., :3] ** 2).mean())


def test_timestep_samplers():
    a = sample_timesteps(8, "uniform", sobol=sobol_engine(3))
    b = sample_timesteps(8, "uniform", sobol=sobol_engine(3))
    assert torch.equal(a, b) and a.shape == (8,) and ((a >= 0) & (a < 1)).all()
    # scrambled Sobol: 8 points fall one per 1/8 interval
    assert sorted((a * 8).floor().long().tolist()) == list(range(8))
    t = sample_timesteps(1000, "logit_normal", generator=torch.Generator().manual_seed(0))
    assert ((t > 0) & (t < 1)).all() and abs(t.median().item() - 0.5) < 0.05


def test_bad_arguments():
    x0, noise = tensors()
    with pytest.raises(InputError, match="objective"):
        noised_input_and_target("eps", x0, noise, torch.zeros(3))
    with pytest.raises(InputError, match="t.shape"):
        noised_input_and_target("v", x0, noise, torch.zeros(2))
    with pytest.raises(InputError, match="sampler"):
        sample_timesteps(2, "cosine")
    with pytest.raises(InputError, match="Sobol"):
        sample_timesteps(2, "uniform")
    with pytest.raises(InputError, match="Generator"):
        sample_timesteps(2, "logit_normal")
    with pytest.raises(InputError, match="mask.shape"):
        mse_loss(x0, x0, torch.ones(3, 5, dtype=torch.bool))


def test_event_frame_weights_favour_frames_that_depart_from_the_quiet_ones():
    from audiox.training.losses import event_frame_weights

    x0 = torch.zeros(2, 4, 10)
    x0[0, :, 3] = 2.0  # one loud frame in item 0; item 1 is all quiet
    w = event_frame_weights(x0, 3.0)
    assert w.shape == (2, 10)
    assert torch.allclose(w.mean(dim=1), torch.ones(2))  # the loss keeps its scale
    assert w[0, 3] > 3 * w[0, 0] and torch.allclose(w[0, 0], w[0, 9])
    assert torch.equal(event_frame_weights(x0, 0.0), torch.ones(2, 10))
    # a flat clip has no events: its frames keep equal weight
    assert torch.allclose(w[1], w[1, :1].expand(10))


def test_weighted_diffusion_loss_is_the_frame_weighted_mean_square():
    from audiox.training.losses import diffusion_loss, event_frame_weights, noised_input_and_target

    g = torch.Generator().manual_seed(0)
    x0, noise, out = (torch.randn(2, 3, 8, generator=g) for _ in range(3))
    t = torch.tensor([0.3, 0.9])
    _, target = noised_input_and_target("rectified_flow", x0, noise, t)
    w = event_frame_weights(x0, 2.0)
    expected = (((out - target) ** 2) * w[:, None, :]).mean()
    assert torch.allclose(diffusion_loss("rectified_flow", out, x0, noise, t, event_weight=2.0), expected)
    assert torch.allclose(diffusion_loss("rectified_flow", out, x0, noise, t), ((out - target) ** 2).mean())


def test_logit_normal_mean_shifts_the_noise_levels_up():
    from audiox.training.losses import sample_timesteps

    plain = sample_timesteps(4000, "logit_normal", generator=torch.Generator().manual_seed(0))
    shifted = sample_timesteps(4000, "logit_normal", generator=torch.Generator().manual_seed(0), mean=1.0)
    assert torch.allclose(torch.logit(shifted) - torch.logit(plain), torch.ones(4000), atol=1e-3)
    assert shifted.mean() > plain.mean() + 0.1


def test_train_config_rejects_negative_event_weight():
    from audiox.errors import ConfigError
    from audiox.training.config import TrainConfig

    with pytest.raises(ConfigError, match="event_weight"):
        TrainConfig(event_weight=-1.0)
