"""Function-preserving widening of an Oobleck decoder (Net2Net-style): a wider decoder that starts out
computing exactly what a trained narrower one computes, so training the extra width begins from the trained
decoder's quality instead of from scratch.

Every hidden channel c' of the wide decoder copies channel c' mod C of the narrow one (C: the narrow width
at that point): snake parameters and biases are copied, each convolution's weight is gathered along its
output and input channels, and along the input channels it is split over the copies of a channel with
random positive fractions that sum to 1 per copy group. Duplicated channels therefore carry identical
activations, the next layer sums their split weights back to the original, and the output is unchanged
(up to float rounding); the random split makes the copies receive different gradients, so they can grow
apart. The latent input and the audio output channels are not widened.
"""

from __future__ import annotations

import torch
from torch import nn

from audiox.errors import ConfigError
from audiox.vae.blocks import WNConvTranspose1d, _WeightNormed
from audiox.vae.snake import SnakeBeta


def _copies(new: int, old: int) -> torch.Tensor:
    """(new,) index of the narrow channel each wide channel copies."""
    if new < old:
        raise ConfigError(f"widen: a layer would shrink from {old} to {new} channels; the new decoder "
                          "must be at least as wide as the old one everywhere (same c_mults, more channels)")
    return torch.arange(new) % old


def _split(weight: torch.Tensor, dim: int, old: int, generator: torch.Generator) -> torch.Tensor:
    """Multiply `weight` (already gathered to its wide shape) along input dim `dim` by random fractions in
    (0.5, 1.5) normalised to sum to 1 over the copies of each narrow channel."""
    copies = _copies(weight.shape[dim], old)
    u = torch.rand(weight.shape, generator=generator) + 0.5
    moved = u.movedim(dim, 0)  # (new_in, ...)
    totals = torch.zeros((old, *moved.shape[1:])).index_add_(0, copies, moved)
    return weight * (moved / totals[copies]).movedim(0, dim)


@torch.no_grad()
def _widen_conv(old: _WeightNormed, new: _WeightNormed, generator: torch.Generator) -> None:
    w = old.weight  # conv: (out, in, k); transposed conv: (in, out, k)
    in_dim, out_dim = (0, 1) if isinstance(old, WNConvTranspose1d) else (1, 0)
    shape = new.weight_v.shape
    if w.shape[2] != shape[2]:
        raise ConfigError(f"widen: kernel sizes differ ({w.shape[2]} vs {shape[2]}); keep the strides")
    wide = w.index_select(out_dim, _copies(shape[out_dim], w.shape[out_dim]))
    wide = wide.index_select(in_dim, _copies(shape[in_dim], w.shape[in_dim]))
    wide = _split(wide, in_dim, w.shape[in_dim], generator)
    new.weight_v.copy_(wide)
    new.weight_g.copy_(torch.linalg.vector_norm(wide, dim=(1, 2), keepdim=True))
    if old.bias is not None:
        new.bias.copy_(old.bias[_copies(new.bias.shape[0], old.bias.shape[0])])


@torch.no_grad()
def widen_decoder(narrow: nn.Module, wide: nn.Module, *, seed: int = 0) -> nn.Module:
    """Set the weights of `wide` (an Oobleck decoder of the same strides and latent / output channels,
    at least as wide at every layer) so that it computes what `narrow` computes; returns `wide`."""
    pairs = [(a, b) for a, b in zip(narrow.modules(), wide.modules(), strict=True)]
    generator = torch.Generator().manual_seed(seed)
    for old, new in pairs:
        if type(old) is not type(new):
            raise ConfigError(f"widen: the decoders differ in structure ({type(old).__name__} vs "
                              f"{type(new).__name__}); use the same c_mults and strides")
        if isinstance(old, SnakeBeta):
            index = _copies(new.alpha.shape[0], old.alpha.shape[0])
            new.alpha.copy_(old.alpha[index])
            new.beta.copy_(old.beta[index])
        elif isinstance(old, _WeightNormed):
            _widen_conv(old, new, generator)
    return wide
