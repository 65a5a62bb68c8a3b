"""Oobleck building blocks: weight-normed convolutions, ResidualUnit, EncoderBlock, DecoderBlock.

Attribute names are the official state-dict keys: convolutions hold `weight_g`, `weight_v` (the LEGACY
`torch.nn.utils.weight_norm` names) and `bias`; blocks hold a `layers` Sequential indexed as the official.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from audiox.vae.snake import make_activation


class _WeightNormed(nn.Module):
    """Parameters of a weight-normed convolution: weight = g * v / ||v||, the norm over all dims but 0.

    `weight_shape` is the shape of the plain convolution's weight; g has shape (weight_shape[0], 1, 1).
    """

    def __init__(self, weight_shape: tuple[int, int, int], bias_channels: int, *, bias: bool) -> None:
        super().__init__()
        v = torch.empty(weight_shape)
        nn.init.kaiming_uniform_(v, a=math.sqrt(5))  # torch's default conv init; then g = ||v||
        if bias:  # registered first: the official state-dict order is bias, weight_g, weight_v
            bound = 1.0 / math.sqrt(weight_shape[1] * weight_shape[2])
            self.bias = nn.Parameter(torch.empty(bias_channels).uniform_(-bound, bound))
        else:
            self.register_parameter("bias", None)
        self.weight_g = nn.Parameter(torch.linalg.vector_norm(v, dim=(1, 2), keepdim=True))
        self.weight_v = nn.Parameter(v)

    @property
    def weight(self) -> torch.Tensor:
        """Effective weight g * v / ||v|| (same kernel as the legacy weight_norm hook, dim=0)."""
        return torch._weight_norm(self.weight_v, self.weight_g, 0)


class WNConv1d(_WeightNormed):
    """Conv1d with weight norm per output channel. weight_v: (out, in, k), weight_g: (out, 1, 1)."""

    def __init__(
        self,
        *,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | str = 0,
        dilation: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__((out_channels, in_channels, kernel_size), out_channels, bias=bias)
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, in, S) -> (B, out, S')."""
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class WNConvTranspose1d(_WeightNormed):
    """ConvTranspose1d with weight norm over dim 0 of its (in, out, k) weight.

    official quirk: the legacy weight_norm uses dim 0, which for a transposed conv is the INPUT channel:
    weight_g has shape (in, 1, 1) and each input channel's kernel slab is normalised.
    """

    def __init__(
        self, *, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int
    ) -> None:
        super().__init__((in_channels, out_channels, kernel_size), out_channels, bias=True)
        self.stride, self.padding = stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, in, L) -> (B, out, (L - 1) * stride - 2 * padding + kernel_size)."""
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding)


class ResidualUnit(nn.Module):
    """x + conv1x1(act(conv7_dilated(act(x)))); `layers` = [act, conv k7, act, conv k1]."""

    def __init__(self, *, channels: int, dilation: int, use_snake: bool) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            make_activation(use_snake=use_snake, channels=channels),
            WNConv1d(
                in_channels=channels,
                out_channels=channels,
                kernel_size=7,
                dilation=dilation,
                padding=3 * dilation,
            ),
            make_activation(use_snake=use_snake, channels=channels),
            WNConv1d(in_channels=channels, out_channels=channels, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, S) -> (B, C, S)."""
        return self.layers(x) + x


def _residual_stack(channels: int, use_snake: bool) -> list[nn.Module]:
    return [ResidualUnit(channels=channels, dilation=d, use_snake=use_snake) for d in (1, 3, 9)]


class EncoderBlock(nn.Module):
    """3 residual units (dilation 1, 3, 9) at `in_channels`, activation, strided conv (k 2s, pad ceil(s/2))."""

    def __init__(self, *, in_channels: int, out_channels: int, stride: int, use_snake: bool) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            *_residual_stack(in_channels, use_snake),
            make_activation(use_snake=use_snake, channels=in_channels),
            WNConv1d(
                in_channels=in_channels,
                out_channels=out_channels,
                kernel_size=2 * stride,
                stride=stride,
                padding=math.ceil(stride / 2),
            ),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, in, S) -> (B, out, floor((S + 2*ceil(s/2) - 2s)/s) + 1)."""
        return self.layers(x)


def _upsampler(in_channels: int, out_channels: int, stride: int, use_nearest_upsample: bool) -> nn.Module:
    if use_nearest_upsample:  # keys `layers.1.1.weight_{g,v}` (no bias), as the official Sequential
        conv = WNConv1d(
            in_channels=in_channels,
            out_channels=out_channels,
            kernel_size=2 * stride,
            padding="same",
            bias=False,
        )
        return nn.Sequential(nn.Upsample(scale_factor=stride, mode="nearest"), conv)
    return WNConvTranspose1d(
        in_channels=in_channels,
        out_channels=out_channels,
        kernel_size=2 * stride,
        stride=stride,
        padding=math.ceil(stride / 2),
    )


NOISE_SEED = 0


class NoiseSource(nn.Module):
    """h + gate(h) * n: unit Gaussian noise n (B, C, S) scaled per channel and position by a 1x1 conv of the
    features (zero-initialised: a new source leaves the decoder's output unchanged), so the latents set where
    a noise texture sounds and at what level; the convolutions after it shape its spectrum. An own option
    (`noise_blocks`), for textures (claps, rain) a deterministic decoder renders as their near-silent average.
    Training draws fresh noise; inference one fixed realisation (seed `NOISE_SEED`), so decoding is
    deterministic."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gate = nn.Conv1d(channels, channels, kernel_size=1)
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """h: (B, C, S) -> (B, C, S)."""
        if self.training:
            noise = torch.randn_like(h)
        else:
            noise = torch.randn(h.shape, generator=torch.Generator().manual_seed(NOISE_SEED)).to(h)
        return h + self.gate(h) * noise


class DecoderBlock(nn.Module):
    """Activation, upsampling (transposed conv k 2s, or nearest + conv), 3 residual units at `out_channels`
    (then a `NoiseSource` when `noise`)."""

    def __init__(
        self,
        *,
        in_channels: int,
        out_channels: int,
        stride: int,
        use_snake: bool,
        use_nearest_upsample: bool = False,
        noise: bool = False,
    ) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            make_activation(use_snake=use_snake, channels=in_channels),
            _upsampler(in_channels, out_channels, stride, use_nearest_upsample),
            *_residual_stack(out_channels, use_snake),
            *([NoiseSource(out_channels)] if noise else []),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, in, L) -> (B, out, L*s) for even s (L*s - 1 for odd s with the transposed conv)."""
        return self.layers(x)
