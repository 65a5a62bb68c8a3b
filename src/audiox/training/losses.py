"""Diffusion training losses: timestep draws, noised inputs + targets per objective, masked MSE.

architecture.md §6.1-6.2: t ~ scrambled Sobol U(0, 1) (default) or sigmoid(N(0, 1)) ("logit_normal");
noising and targets as `audiox.diffusion.objectives` (`v`: z = a x0 + s eps, target a eps - s x0;
`rectified_flow`: z = (1 - t) x0 + t eps, target eps - x0); loss = mean squared error, optionally
over the positions the padding mask marks as real audio only (`mask_padding`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from audiox.diffusion.objectives import rf_noise, rf_target, v_noise, v_target
from audiox.errors import InputError

OBJECTIVES = ("v", "rectified_flow")
TIMESTEP_SAMPLERS = ("uniform", "logit_normal")


def sobol_engine(seed: int) -> torch.quasirandom.SobolEngine:
    """The 1-d scrambled Sobol sequence the official trainer keeps for uniform t draws."""
    return torch.quasirandom.SobolEngine(1, scramble=True, seed=seed)


def sample_timesteps(
    batch_size: int,
    sampler: str,
    *,
    sobol: torch.quasirandom.SobolEngine | None = None,
    generator: torch.Generator | None = None,
    mean: float = 0.0,
) -> Tensor:
    """t: (B,) in [0, 1]. "uniform" draws the next B points of `sobol`; "logit_normal" is
    sigmoid(N(mean, 1)) from `generator` (mean 0: the official draw; > 0 favours high noise levels)."""
    if sampler == "uniform":
        if sobol is None:
            raise InputError("uniform timesteps need a Sobol engine; pass sobol=sobol_engine(seed)")
        return sobol.draw(batch_size)[:, 0].float()  # (B,)
    if sampler == "logit_normal":
        if generator is None:
            raise InputError("logit_normal timesteps need a torch.Generator; pass generator=")
        return torch.sigmoid(torch.randn(batch_size, generator=generator) + mean)  # (B,)
    raise InputError(f"unknown timestep sampler {sampler!r}; use one of {TIMESTEP_SAMPLERS}")


def noised_input_and_target(objective: str, x0: Tensor, noise: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    """x0, noise: (B, C, L); t: (B,) -> (model input z_t, regression target), both (B, C, L)."""
    if x0.shape != noise.shape or t.shape != x0.shape[:1]:
        raise InputError(f"{x0.shape=} {noise.shape=} {t.shape=}, expected (B, C, L), (B, C, L), (B,)")
    if objective == "v":
        return v_noise(x0, noise, t), v_target(x0, noise, t)
    if objective == "rectified_flow":
        return rf_noise(x0, noise, t), rf_target(x0, noise)
    raise InputError(f"unknown objective {objective!r}; use one of {OBJECTIVES}")


def latent_padding_mask(padding_mask: Tensor, num_latent_frames: int) -> Tensor:
    """padding_mask: (B, S) bool over samples -> (B, L) bool over latent frames.

    Nearest-neighbour resize like the official trainer (`F.interpolate(mode="nearest")`): latent
    frame l takes sample floor(l * S / L).
    """
    resized = F.interpolate(padding_mask[:, None].float(), size=num_latent_frames, mode="nearest")
    return resized[:, 0].bool()  # (B, L)


def event_frame_weights(x0: Tensor, strength: float) -> Tensor:
    """x0: (B, C, L) clean latents -> (B, L) loss weights with mean 1 per item: (1 + strength * a) / (1 +
    strength), a = a frame's squared distance from the clip's median frame over its mean. Frames where an
    event sounds depart from the clip's quiet frames; the condition decides what is heard there, while
    the quiet frames, the bulk of a sparse scene, carry little of it. strength 0: all ones."""
    if x0.ndim != 3:
        raise InputError(f"{x0.shape=}, expected (B, C, L)")
    if strength == 0:
        return torch.ones(x0.shape[0], x0.shape[-1], dtype=x0.dtype, device=x0.device)
    distance = (x0 - x0.median(dim=-1, keepdim=True).values).pow(2).sum(dim=1)  # (B, L)
    mean = distance.mean(dim=-1, keepdim=True)
    relative = torch.where(mean > 1e-12, distance / mean.clamp_min(1e-12), torch.ones_like(distance))  # flat: 1
    return (1.0 + strength * relative) / (1.0 + strength)


def mse_loss(output: Tensor, target: Tensor, mask: Tensor | None = None, weights: Tensor | None = None) -> Tensor:
    """Mean squared error; output, target: (B, C, L). With mask (B, L) bool: the mean over the
    masked-in positions of every channel only (official MSELoss with `mask_key`). `weights` (B, L): each
    frame's squared error scaled by its weight (an own option, see `event_frame_weights`)."""
    if output.shape != target.shape:
        raise InputError(f"{output.shape=} != {target.shape=}")
    squared = (output - target) ** 2
    if weights is not None:
        if weights.shape != (output.shape[0], output.shape[-1]):
            raise InputError(f"{weights.shape=}, expected (B, L) = {(output.shape[0], output.shape[-1])}")
        squared = squared * weights[:, None, :]
    if mask is None:
        return squared.mean()
    if mask.shape != (output.shape[0], output.shape[-1]):
        raise InputError(f"{mask.shape=}, expected (B, L) = {(output.shape[0], output.shape[-1])}")
    return squared[mask[:, None, :].expand_as(squared)].mean()


def diffusion_loss(
    objective: str,
    model_output: Tensor,
    x0: Tensor,
    noise: Tensor,
    t: Tensor,
    padding_mask: Tensor | None = None,
    event_weight: float = 0.0,
) -> Tensor:
    """MSE between the model output (B, C, L) and the objective's target; `padding_mask` is (B, S)
    over audio samples or (B, L) over latent frames (resized to L when needed); `event_weight` > 0
    weights frames by `event_frame_weights`."""
    _, target = noised_input_and_target(objective, x0, noise, t)
    mask = None
    if padding_mask is not None:
        mask = padding_mask.bool()
        if mask.shape[-1] != x0.shape[-1]:
            mask = latent_padding_mask(mask, x0.shape[-1])
    weights = event_frame_weights(x0, event_weight) if event_weight > 0 else None
    return mse_loss(model_output, target, mask, weights)
