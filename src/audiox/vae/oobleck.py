"""Oobleck encoder / decoder and the AudioAutoencoder that holds them (the AudioX pretransform VAE).

Attribute names are the official state-dict keys: `encoder.layers.N...`, `decoder.layers.N...`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from audiox.config.schema import AutoencoderConfig, OobleckDecoderConfig, OobleckEncoderConfig
from audiox.errors import ConfigError
from audiox.vae.blocks import DecoderBlock, EncoderBlock, WNConv1d
from audiox.vae.snake import make_activation


def encoder_output_length(num_samples: int, strides: Sequence[int]) -> int:
    """Latent frames the Oobleck encoder makes from `num_samples`: per stride s,
    L -> floor((L + 2*ceil(s/2) - 2s) / s) + 1 (the k7/k3 end convolutions keep the length).
    Returns <= 0 when the input is too short for some block."""
    length = num_samples
    for s in strides:
        length = (length + 2 * math.ceil(s / 2) - 2 * s) // s + 1
        if length <= 0:
            return 0
    return length


def decoder_output_length(
    num_latents: int, strides: Sequence[int], *, use_nearest_upsample: bool = False
) -> int:
    """Samples the Oobleck decoder makes from `num_latents`: per stride s, L -> (L-1)s - 2ceil(s/2) + 2s
    (= L*s for even s); nearest upsampling gives exactly L*s."""
    length = num_latents
    for s in reversed(strides):
        length = length * s if use_nearest_upsample else (length - 1) * s - 2 * math.ceil(s / 2) + 2 * s
    return length


def _channel_widths(channels: int, c_mults: Sequence[int]) -> list[int]:
    # official quirk: a leading multiplier 1 is prepended to c_mults, giving len(c_mults) blocks
    return [m * channels for m in (1, *c_mults)]


def _check_strides(c_mults: Sequence[int], strides: Sequence[int], where: str) -> None:
    if len(strides) < len(c_mults) or any(s < 1 for s in strides):
        raise ConfigError(f"{where}: need one stride >= 1 per c_mult, got {c_mults=} {strides=}")
    if len(strides) > len(c_mults):
        raise ConfigError(
            f"{where}: {len(strides)} strides for {len(c_mults)} c_mults; give one stride per c_mult"
        )


def _check_supported(antialias_activation: bool, where: str) -> None:
    if antialias_activation:
        raise ConfigError(
            f"{where}.antialias_activation=true is not supported (no AudioX model uses it); set false"
        )


class OobleckEncoder(nn.Module):
    """Audio (B, in_channels, S) -> (B, latent_dim, L) with L = encoder_output_length(S, strides)."""

    def __init__(self, cfg: OobleckEncoderConfig) -> None:
        super().__init__()
        _check_strides(cfg.c_mults, cfg.strides, "encoder.config")
        _check_supported(cfg.antialias_activation, "encoder.config")
        widths = _channel_widths(cfg.channels, cfg.c_mults)
        layers: list[nn.Module] = [
            WNConv1d(in_channels=cfg.in_channels, out_channels=widths[0], kernel_size=7, padding=3)
        ]
        for i, stride in enumerate(cfg.strides):
            layers.append(
                EncoderBlock(
                    in_channels=widths[i], out_channels=widths[i + 1], stride=stride, use_snake=cfg.use_snake
                )
            )
        layers.append(make_activation(use_snake=cfg.use_snake, channels=widths[-1]))
        layers.append(WNConv1d(in_channels=widths[-1], out_channels=cfg.latent_dim, kernel_size=3, padding=1))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, in_channels, S) -> (B, latent_dim, L)."""
        return self.layers(x)


class OobleckDecoder(nn.Module):
    """Latents (B, latent_dim, L) -> audio (B, out_channels, decoder_output_length(L, strides))."""

    def __init__(self, cfg: OobleckDecoderConfig) -> None:
        super().__init__()
        _check_strides(cfg.c_mults, cfg.strides, "decoder.config")
        _check_supported(cfg.antialias_activation, "decoder.config")
        widths = _channel_widths(cfg.channels, cfg.c_mults)
        layers: list[nn.Module] = [
            WNConv1d(in_channels=cfg.latent_dim, out_channels=widths[-1], kernel_size=7, padding=3)
        ]
        if not 0 <= cfg.noise_blocks <= len(cfg.strides):
            raise ConfigError(f"decoder.config.noise_blocks={cfg.noise_blocks} must be in 0..{len(cfg.strides)}")
        for i in range(len(cfg.strides), 0, -1):
            block = DecoderBlock(
                in_channels=widths[i],
                out_channels=widths[i - 1],
                stride=cfg.strides[i - 1],
                use_snake=cfg.use_snake,
                use_nearest_upsample=cfg.use_nearest_upsample,
                noise=i <= cfg.noise_blocks,  # the last noise_blocks blocks (the highest rates)
            )
            layers.append(block)
        layers.append(make_activation(use_snake=cfg.use_snake, channels=widths[0]))
        layers.append(
            WNConv1d(
                in_channels=widths[0], out_channels=cfg.out_channels, kernel_size=7, padding=3, bias=False
            )
        )
        layers.append(nn.Tanh() if cfg.final_tanh else nn.Identity())
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, latent_dim, L) -> (B, out_channels, S)."""
        return self.layers(x)


def _per_item(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, iterate_batch: bool
) -> torch.Tensor:
    if not iterate_batch:
        return fn(x)
    return torch.cat([fn(x[i : i + 1]) for i in range(x.shape[0])], dim=0)


class AudioAutoencoder(nn.Module):
    """Oobleck encoder + decoder. The VAE bottleneck has no weights; it lives in `audiox.vae.bottleneck`
    and is applied by `AutoencoderPretransform`. Keys: `encoder.*`, `decoder.*` (as the Turbo vae.ckpt)."""

    def __init__(self, cfg: AutoencoderConfig) -> None:
        super().__init__()
        enc, dec = cfg.encoder.config, cfg.decoder.config
        factor = 2 if cfg.bottleneck is not None else 1  # the VAE bottleneck splits [mean; scale]
        if enc.latent_dim != factor * cfg.latent_dim or dec.latent_dim != cfg.latent_dim:
            raise ConfigError(
                f"pretransform.config: encoder latent_dim {enc.latent_dim} must be {factor} x latent_dim "
                f"{cfg.latent_dim} and decoder latent_dim {dec.latent_dim} must equal it"
            )
        ratio = math.prod(enc.strides)
        if ratio != cfg.downsampling_ratio:
            raise ConfigError(
                f"pretransform.config.downsampling_ratio={cfg.downsampling_ratio} but the encoder strides "
                f"{list(enc.strides)} multiply to {ratio}; make them agree"
            )
        self.config = cfg
        self.encoder = OobleckEncoder(enc)
        self.decoder = OobleckDecoder(dec)

    def encode_features(self, audio: torch.Tensor, *, iterate_batch: bool = False) -> torch.Tensor:
        """Encoder output before the bottleneck. audio: (B, C, S) -> (B, encoder latent_dim, L)."""
        return _per_item(self.encoder, audio, iterate_batch)

    def decode(self, latents: torch.Tensor, *, iterate_batch: bool = False) -> torch.Tensor:
        """latents: (B, latent_dim, L) -> audio (B, C, S). The VAE bottleneck's decode is the identity."""
        return _per_item(self.decoder, latents, iterate_batch)
