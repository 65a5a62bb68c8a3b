"""AutoencoderPretransform: the VAE as seen by the diffusion model (scaling, per-item batching, chunking).

`.model` is the AudioAutoencoder, so state-dict keys are `model.encoder.*` / `model.decoder.*` = the
official keys after `pretransform.`. Long inputs may be processed in overlapping windows (`chunked`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from audiox.config.schema import PretransformConfig
from audiox.errors import ConfigError, InputError
from audiox.vae import bottleneck
from audiox.vae.oobleck import AudioAutoencoder, decoder_output_length, encoder_output_length
from audiox.vae.silence import SilenceMemo, receptive_field, stitch_silence

CHUNK_LATENTS = 128  # official `chunked` window, in latent frames
CHUNK_OVERLAP = 32  # official overlap between windows, in latent frames


@dataclass(frozen=True)
class Window:
    """One chunk: latent frames [start, start + size) of the full sequence; of its output only the
    chunk-relative frames [keep_from, keep_to) are written (the overlap edges are dropped)."""

    start: int
    size: int
    keep_from: int
    keep_to: int


def chunk_windows(total: int, chunk_size: int = CHUNK_LATENTS, overlap: int = CHUNK_OVERLAP) -> list[Window]:
    """Windows of `chunk_size` latents every `chunk_size - overlap`, the last one flush with the end;
    neighbours each drop overlap // 2 frames at their shared edge (later windows overwrite earlier ones)."""
    if not 0 <= overlap < chunk_size:
        raise InputError(f"chunking needs 0 <= overlap < chunk_size, got {overlap=} {chunk_size=}")
    if total <= chunk_size:
        return [Window(0, total, 0, total)]
    starts = list(range(0, total - chunk_size + 1, chunk_size - overlap))
    if starts[-1] + chunk_size != total:
        starts.append(total - chunk_size)
    half = overlap // 2
    last = len(starts) - 1
    return [
        Window(s, chunk_size, half if i > 0 else 0, chunk_size - half if i < last else chunk_size)
        for i, s in enumerate(starts)
    ]


class AutoencoderPretransform(nn.Module):
    """encode: audio (B, io_channels, S) -> latents (B, latent_dim, L), a posterior SAMPLE / scale;
    decode: latents (B, latent_dim, L) -> audio (B, io_channels, L * downsampling_ratio)."""

    def __init__(self, cfg: PretransformConfig) -> None:
        super().__init__()
        # model_half / enable_grad are precision and training switches: dtype is set by the pipeline
        self.cfg = cfg
        self.model = AudioAutoencoder(cfg.config)
        self.scale = cfg.scale
        self.iterate_batch = cfg.iterate_batch
        self.chunked = cfg.chunked
        self._silence = SilenceMemo()  # not state: the encoder output for silence, see `encode`

    @property
    def downsampling_ratio(self) -> int:
        return self.cfg.config.downsampling_ratio

    @property
    def latent_dim(self) -> int:
        return self.cfg.config.latent_dim

    @property
    def io_channels(self) -> int:
        return self.cfg.config.io_channels

    def latent_length(self, num_samples: int) -> int:
        """Latent frames that `num_samples` audio samples encode to."""
        return encoder_output_length(num_samples, self.cfg.config.encoder.config.strides)

    def decoded_length(self, num_latents: int) -> int:
        """Audio samples that `num_latents` latent frames decode to."""
        dec = self.cfg.config.decoder.config
        return decoder_output_length(num_latents, dec.strides, use_nearest_upsample=dec.use_nearest_upsample)

    # ------------------------------------------------------------------------------------------ encode

    def encode_features(self, audio: torch.Tensor) -> torch.Tensor:
        """Encoder output before the bottleneck (unscaled). audio: (B, C, S) -> (B, 2 * latent_dim, L)."""
        self._check_audio(audio)
        if self.chunked:
            return self.encode_features_chunked(audio)
        return self.model.encode_features(audio, iterate_batch=self.iterate_batch)

    def encode_distribution(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior of the returned latents. audio: (B, C, S) -> mean, std: (B, latent_dim, L) (/ scale)."""
        mean, std = self._posterior(audio)
        return mean / self.scale, std / self.scale

    def encode(
        self,
        audio: torch.Tensor,
        *,
        noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        reuse_silence: bool = False,
        stitch_silence: bool = False,
    ) -> torch.Tensor:
        """audio: (B, C, S) -> latents (B, latent_dim, L) = (mean + std * noise) / scale.

        `noise` (B, latent_dim, L) is the N(0, 1) draw; without it one is drawn from `generator`.
        `reuse_silence`: all-zero audio takes the encoder output remembered from the last silence of that
        shape (`SilenceMemo`; same numbers, and the same draw from `generator`). `stitch_silence`: compute
        that output from a short silence (`encode_silence_features`: not bit-identical, ~1e-7 apart, as the
        convolution kernels' rounding depends on the length; the fast precision uses it).
        """
        if reuse_silence and is_silence(audio):
            self._check_audio(audio)
            shape, device, dtype = tuple(audio.shape), audio.device, audio.dtype
            features = self._silence.features(
                shape, device=device, dtype=dtype, stitched=stitch_silence,
                weights=[*self.model.encoder.parameters(), *self.model.encoder.buffers()],
                compute=lambda: (
                    self.encode_silence_features(shape, device, dtype) if stitch_silence
                    else self.encode_features(torch.zeros(shape, device=device, dtype=dtype))
                ),
            )
        else:
            features = self.encode_features(audio)
        if self.cfg.config.bottleneck is None:
            return features / self.scale
        mean, std = bottleneck.posterior(features)
        eps = bottleneck.draw_noise(mean, noise=noise, generator=generator)
        return bottleneck.sample(mean, std, eps) / self.scale

    def encode_silence_features(
        self, shape: tuple[int, int, int], device: torch.device, dtype: torch.dtype
    ) -> torch.Tensor:
        """`encode_features` of silence (B, C, S) = `shape`, computed on a silence of about two receptive
        fields (`silence.stitch_silence`; the chunked path, whose windows depend on the length, encodes it
        all). Equal to the full encode up to the kernels' rounding (~1e-7). -> (B, 2 * latent_dim, L)."""
        if self.chunked:
            return self.encode_features(torch.zeros(shape, device=device, dtype=dtype))
        edge = -(-receptive_field(self.model.encoder) // self.downsampling_ratio) + 2
        return stitch_silence(
            self.encode_features, shape, ratio=self.downsampling_ratio, edge_frames=edge,
            latent_length=self.latent_length, device=device, dtype=dtype,
        )

    def _posterior(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encode_features(audio)
        if self.cfg.config.bottleneck is None:
            return features, torch.zeros_like(features)
        return bottleneck.posterior(features)

    # ------------------------------------------------------------------------------------------ decode

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """latents: (B, latent_dim, L) -> audio (B, io_channels, decoded_length(L))."""
        self._check_latents(latents)
        z = latents * self.scale
        if self.chunked:
            return self.decode_chunked(z)
        return self.model.decode(z, iterate_batch=self.iterate_batch)

    # ------------------------------------------------------------------------------------ chunked paths

    def encode_features_chunked(
        self, audio: torch.Tensor, *, chunk_size: int = CHUNK_LATENTS, overlap: int = CHUNK_OVERLAP
    ) -> torch.Tensor:
        """Encoder output computed window by window. audio: (B, C, S) -> (B, 2 * latent_dim, L).

        Two deliberate differences from the official chunked encode (unused by every AudioX config):
        windows are stitched BEFORE the bottleneck (the official samples per window), so one noise tensor
        (B, latent_dim, L) serves chunked and full encodes alike; and the last window starts on the latent
        grid and runs to the end of the audio (the official takes the last chunk_size * ratio samples,
        which is off the latent grid when S is not a multiple of the ratio).
        """
        self._check_chunkable(chunk_size)
        ratio = self.downsampling_ratio
        windows = chunk_windows(self.latent_length(audio.shape[-1]), chunk_size, overlap)
        last = len(windows) - 1

        def run(i: int, w: Window) -> torch.Tensor:
            end = audio.shape[-1] if i == last else (w.start + w.size) * ratio  # the remainder goes last
            piece = audio[..., w.start * ratio : end]
            return self.model.encode_features(piece, iterate_batch=self.iterate_batch)

        return _stitch(windows, run, scale=1)

    def decode_chunked(
        self, latents: torch.Tensor, *, chunk_size: int = CHUNK_LATENTS, overlap: int = CHUNK_OVERLAP
    ) -> torch.Tensor:
        """Decoder output computed window by window (no scaling). latents: (B, D, L) -> (B, C, L * ratio)."""
        self._check_chunkable(chunk_size)
        windows = chunk_windows(latents.shape[-1], chunk_size, overlap)

        def run(i: int, w: Window) -> torch.Tensor:
            return self.model.decode(
                latents[..., w.start : w.start + w.size], iterate_batch=self.iterate_batch
            )

        return _stitch(windows, run, scale=self.downsampling_ratio)

    def _check_chunkable(self, chunk_size: int) -> None:
        ratio = self.downsampling_ratio
        if (
            self.latent_length(chunk_size * ratio) != chunk_size
            or self.decoded_length(chunk_size) != chunk_size * ratio
        ):
            raise ConfigError(
                "chunked VAE encode/decode needs an exact x downsampling_ratio length map (even strides); "
                "set pretransform.chunked=false"
            )

    # ------------------------------------------------------------------------------------------ checks

    def _check_audio(self, audio: torch.Tensor) -> None:
        if audio.ndim != 3 or audio.shape[1] != self.io_channels:
            raise InputError(f"{audio.shape=}, expected (B, {self.io_channels}, S) audio for the VAE encoder")
        if self.latent_length(audio.shape[-1]) < 1:
            raise InputError(
                f"{audio.shape=}: too short for the VAE encoder; pass at least {self.downsampling_ratio} samples"
            )

    def _check_latents(self, latents: torch.Tensor) -> None:
        if latents.ndim != 3 or latents.shape[1] != self.latent_dim or latents.shape[-1] < 1:
            raise InputError(f"{latents.shape=}, expected (B, {self.latent_dim}, L) latents with L >= 1")


def is_silence(audio: torch.Tensor) -> bool:
    """True when every sample is +0.0 (a -0.0 could change the sign of an exact zero downstream)."""
    return not bool(audio.any()) and not bool(audio.signbit().any())


def _stitch(windows: list[Window], run: Callable[[int, Window], torch.Tensor], *, scale: int) -> torch.Tensor:
    """Run every window and paste its kept part; `scale` output frames per latent frame. -> (B, C, L*scale)."""
    if len(windows) == 1:
        return run(0, windows[0])
    total = (windows[-1].start + windows[-1].size) * scale
    pieces = (run(i, w) for i, w in enumerate(windows))  # each (B, C, w.size * scale)
    first = next(pieces)
    out = first.new_zeros(first.shape[0], first.shape[1], total)
    for w, piece in zip(windows, itertools.chain([first], pieces)):
        out[..., (w.start + w.keep_from) * scale : (w.start + w.keep_to) * scale] = piece[
            ..., w.keep_from * scale : w.keep_to * scale
        ]
    return out
