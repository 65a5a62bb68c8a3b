"""Audio-prompt conditioners (`audio_autoencoder`): VAE latents of a waveform, projected to cond_dim.

The type string names two official classes (see `audiox.config.schema.audio_conditioner_variant`):
- v1 (original AudioX): latents (B, 215, latent_dim) -> `proj_out`; all-zero prompts get `empty_audio_feat`.
- v2 (Turbo / MAF): random span masking (also at inference), latents projected over time by
  `proj_features_128` (latent_seq_len -> 128 tokens), then `proj_out`; no empty feature.
Each holds its own VAE copy as `pretransform` (keys `pretransform.model.encoder...`). Attribute names are
the official keys after `conditioner.conditioners.<id>.`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from audiox.config.schema import AudioConditionerConfig, PretransformConfig
from audiox.errors import ConfigError, InputError
from audiox.media.audio import fix_channels
from audiox.vae.pretransform import AutoencoderPretransform

V1_LATENT_FRAMES = 215  # official: `empty_audio_feat` is hard-coded to 215 frames (10 s at 44.1 kHz / 2048)
V2_NUM_TOKENS = 128  # official: `proj_features_128` output length


def batch_audio(items: Tensor | Sequence[Tensor], *, channels: int) -> Tensor:
    """Items (1, C_b, N_b) or (C_b, N_b), or one (B, C, S) tensor -> (B, channels, N): channel fix-up
    per item (so mono and stereo items can be mixed), then right-padding to the longest item."""
    if isinstance(items, Tensor):
        if items.dim() != 3:
            raise InputError(f"{items.shape=}, expected audio (B, C, S)")
        return fix_channels(items, channels)
    rows = [x if x.dim() == 3 else x.unsqueeze(0) for x in items]
    if not rows or any(r.dim() != 3 or r.shape[0] != 1 for r in rows):
        raise InputError(f"audio items must be (1, C, S) or (C, S); got {[tuple(x.shape) for x in items]}")
    rows = [fix_channels(r, channels) for r in rows]
    longest = max(r.shape[-1] for r in rows)
    return torch.cat([F.pad(r, (0, longest - r.shape[-1])) for r in rows], dim=0)  # (B, channels, N)


def silent_items(items: Tensor | Sequence[Tensor]) -> Tensor:
    """(B,) bool: item b is exactly all zeros in its RAW form (before channel fix-up and padding)."""
    rows = list(items) if not isinstance(items, Tensor) else list(items.unbind(0))
    return torch.stack([(r == 0).all() for r in rows])


@dataclass(frozen=True)
class SpanMaskDraws:
    """The random numbers of the v2 span masking: `ratios_u` (B,) ~ U[0, 1) and `starts` (B,) int64."""

    ratios_u: Tensor
    starts: Tensor


def span_lengths(ratios_u: Tensor, num_samples: int, ratio_start: float, ratio_end: float) -> Tensor:
    """Masked span length per item: trunc(N * (u * (end - start) + start)) computed in float32. -> (B,) int64."""
    ratios = ratios_u.float() * (ratio_end - ratio_start) + ratio_start
    return (num_samples * ratios).to(torch.int64)


def draw_span_mask(
    batch: int, num_samples: int, ratio_start: float, ratio_end: float, generator: torch.Generator | None
) -> SpanMaskDraws:
    """Draw like the official code: rand(B), then per item randint(0, N - len + 1, (1,)), from `generator`."""
    if generator is None:
        raise InputError(
            "audio span masking is random: pass generator=torch.Generator or mask_draws=SpanMaskDraws"
        )
    ratios_u = torch.rand(batch, generator=generator)
    lengths = span_lengths(ratios_u, num_samples, ratio_start, ratio_end)
    starts = [torch.randint(0, num_samples - int(n) + 1, (1,), generator=generator) for n in lengths]
    return SpanMaskDraws(ratios_u=ratios_u, starts=torch.cat(starts))


def apply_span_mask(audio: Tensor, starts: Tensor, lengths: Tensor) -> Tensor:
    """Zero samples [start_b, start_b + len_b) of item b in all channels. audio: (B, C, N) -> same, a copy."""
    positions = torch.arange(audio.shape[-1], device=audio.device)
    starts, lengths = starts.to(audio.device).view(-1, 1), lengths.to(audio.device).view(-1, 1)
    keep = (positions < starts) | (positions >= starts + lengths)  # (B, N)
    return torch.where(keep.unsqueeze(1), audio, torch.zeros((), dtype=audio.dtype, device=audio.device))


def _pretransform_config(cfg: AudioConditionerConfig) -> PretransformConfig:
    if cfg.pretransform_config is None:
        raise ConfigError("audio_autoencoder conditioner: pretransform_config is required")
    return cfg.pretransform_config


class AudioLatentConditionerV1(nn.Module):
    """Original AudioX `audio_autoencoder`: (B, 215, cond_dim) tokens, learned feature for silent prompts."""

    def __init__(
        self, cfg: AudioConditionerConfig, *, output_dim: int, num_empty_frames: int = V1_LATENT_FRAMES
    ) -> None:
        super().__init__()
        pretransform = AutoencoderPretransform(_pretransform_config(cfg))
        self.proj_out = nn.Linear(pretransform.latent_dim, output_dim)
        self.pretransform = pretransform
        self.empty_audio_feat = nn.Parameter(torch.zeros(1, num_empty_frames, output_dim))

    def forward(
        self,
        audio: Tensor | Sequence[Tensor],
        *,
        noise: Tensor | None = None,
        generator: torch.Generator | None = None,
        reuse: bool = False,
        stitch_silence: bool = False,
    ) -> tuple[Tensor, Tensor]:
        """audio: (B, C, S) or B items (1, C_b, S_b) (right-padded); `noise` (B, latent_dim, L) or `generator`
        for the VAE sample -> (tokens (B, L, cond_dim), mask ones (B, cond_dim)). `reuse`: an all-silent
        batch takes the VAE encoder output remembered per model (same output, same draw); `stitch_silence`:
        computed from a short silence (`AutoencoderPretransform.encode`)."""
        # official quirk: the silence test is exact equality on the raw input, yet silent items still
        # go through the VAE (and consume its noise draw)
        is_zero = silent_items(audio)  # (B,)
        audio = batch_audio(audio, channels=self.pretransform.io_channels)
        latents = self.pretransform.encode(
            audio, noise=noise, generator=generator, reuse_silence=reuse, stitch_silence=stitch_silence
        )  # (B, D, L)
        tokens = self.proj_out(latents.transpose(1, 2))  # (B, L, cond_dim)
        if tokens.shape[1] != self.empty_audio_feat.shape[1]:
            raise InputError(
                f"audio prompt encodes to {tokens.shape[1]} latent frames, the v1 conditioner needs "
                f"{self.empty_audio_feat.shape[1]} (10 s at the model's sample rate)"
            )
        tokens = torch.where(is_zero.view(-1, 1, 1), self.empty_audio_feat.expand_as(tokens), tokens)
        # official quirk: the mask has width cond_dim (feature axis), not the token count
        return tokens, torch.ones(tokens.shape[0], tokens.shape[2], device=tokens.device)


class AudioLatentConditionerV2(nn.Module):
    """Turbo `audio_autoencoder` / `audio_autoencoder_v2`: span masking, time projection to 128 tokens."""

    def __init__(self, cfg: AudioConditionerConfig, *, output_dim: int) -> None:
        super().__init__()
        pretransform = AutoencoderPretransform(_pretransform_config(cfg))
        self.latent_seq_len = (
            237 if cfg.latent_seq_len is None else cfg.latent_seq_len
        )  # official default 237
        self.mask_ratio_start = 0.0 if cfg.mask_ratio_start is None else cfg.mask_ratio_start
        self.mask_ratio_end = 0.0 if cfg.mask_ratio_end is None else cfg.mask_ratio_end
        self.proj_out = nn.Linear(pretransform.latent_dim, output_dim)
        self.pretransform = pretransform
        self.proj_features_128 = nn.Linear(self.latent_seq_len, V2_NUM_TOKENS)

    @property
    def masks_spans(self) -> bool:
        """True when forward zeroes a random span (official: whenever start < end, inference included)."""
        return self.mask_ratio_start < self.mask_ratio_end

    def mask_audio(
        self,
        audio: Tensor,
        *,
        mask_draws: SpanMaskDraws | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Zero one random span per item. audio: (B, C, N) -> same shape (unchanged when not masking)."""
        if not self.masks_spans:
            return audio
        batch, num_samples = audio.shape[0], audio.shape[-1]
        if mask_draws is None:
            mask_draws = draw_span_mask(
                batch, num_samples, self.mask_ratio_start, self.mask_ratio_end, generator
            )
        lengths = span_lengths(mask_draws.ratios_u, num_samples, self.mask_ratio_start, self.mask_ratio_end)
        return apply_span_mask(audio, mask_draws.starts, lengths)

    def forward(
        self,
        audio: Tensor | Sequence[Tensor],
        *,
        noise: Tensor | None = None,
        generator: torch.Generator | None = None,
        mask_draws: SpanMaskDraws | None = None,
        reuse: bool = False,
        stitch_silence: bool = False,
    ) -> tuple[Tensor, Tensor]:
        """audio: (B, C, S) or B items (1, C_b, S_b) (right-padded to the longest) -> (tokens (B, 128,
        cond_dim), mask ones (B, cond_dim)). Randomness: span-mask draws (`mask_draws` or `generator`),
        then the VAE sample (`noise` (B, latent_dim, latent_seq_len) or `generator`), in that order.
        `reuse`: an all-silent batch takes the VAE encoder output remembered per model (same output and
        draws: masking silence leaves silence); `stitch_silence`: see `AutoencoderPretransform.encode`."""
        audio = batch_audio(audio, channels=self.pretransform.io_channels)
        # official quirk: the random span masking is applied at inference too
        audio = self.mask_audio(audio, mask_draws=mask_draws, generator=generator)
        return self.tokens_from_audio(
            audio, noise=noise, generator=generator, reuse=reuse, stitch_silence=stitch_silence
        )

    def tokens_from_audio(
        self,
        audio: Tensor,
        *,
        noise: Tensor | None = None,
        generator: torch.Generator | None = None,
        reuse: bool = False,
        stitch_silence: bool = False,
    ) -> tuple[Tensor, Tensor]:
        """The part after masking. audio: (B, C, N) -> (tokens (B, 128, cond_dim), mask ones (B, cond_dim))."""
        latents = self.pretransform.encode(
            audio, noise=noise, generator=generator, reuse_silence=reuse, stitch_silence=stitch_silence
        )  # (B, D, L)
        if latents.shape[-1] != self.latent_seq_len:
            raise InputError(
                f"audio prompt encodes to {latents.shape[-1]} latent frames, the conditioner needs "
                f"latent_seq_len={self.latent_seq_len} (10 s at the model's sample rate)"
            )
        tokens = self.proj_out(self.proj_features_128(latents).transpose(1, 2))  # (B, 128, cond_dim)
        # official quirk: the mask has width cond_dim (feature axis), not the token count
        return tokens, torch.ones(tokens.shape[0], tokens.shape[2], device=tokens.device)
