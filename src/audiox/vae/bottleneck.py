"""The VAE bottleneck of the Oobleck autoencoder, as pure functions (it has no weights).

The encoder output is [mean; scale] along channels; std = softplus(scale) + 1e-4; the latent is a SAMPLE
mean + std * noise, and decoding passes latents through unchanged.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from audiox.errors import InputError


def posterior(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split encoder output into the Gaussian posterior. features: (B, 2D, L) -> mean, std: (B, D, L)."""
    if features.ndim != 3 or features.shape[1] % 2:
        raise InputError(f"{features.shape=}, expected (B, 2*latent_dim, L) encoder output")
    mean, scale = features.chunk(2, dim=1)
    return mean, F.softplus(scale) + 1e-4


def draw_noise(
    mean: torch.Tensor, *, noise: torch.Tensor | None, generator: torch.Generator | None
) -> torch.Tensor:
    """The N(0, 1) draw for `sample`: `noise` itself (checked to be shaped like mean (B, D, L)) or a draw
    from `generator` on mean's device. One of the two is required: no hidden global RNG use."""
    if noise is not None:
        if noise.shape != mean.shape:
            raise InputError(
                f"{noise.shape=} does not match the latent posterior {mean.shape=}; pass (B, D, L)"
            )
        return noise.to(dtype=mean.dtype)
    if generator is None:
        raise InputError(
            "VAE encode samples the posterior: pass noise=(B, D, L) tensor or generator=torch.Generator"
        )
    # official quirk: the bottleneck samples even at inference (torch.randn_like on the latent's device).
    # Drawn on the generator's device, then moved: a CPU generator also serves latents on an accelerator.
    eps = torch.randn(mean.shape, generator=generator, device=generator.device, dtype=mean.dtype)
    return eps.to(mean.device)


def sample(mean: torch.Tensor, std: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """mean + std * noise, all (B, D, L), in the official operation order (noise * std + mean)."""
    return noise * std + mean


def kl_divergence(mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, std^2) || N(0, 1)) as the official training loss: summed over channels, averaged over
    batch AND time. mean, std: (B, D, L) -> scalar ().

    official quirk: no 1/2 factor, and the mean runs over the time axis as well as the batch.
    """
    var = std * std
    return (mean * mean + var - torch.log(var) - 1).sum(1).mean()
