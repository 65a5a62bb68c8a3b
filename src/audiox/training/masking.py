"""Multimodal input masking and classifier-free-guidance dropout, as pure functions.

Input masking (AudioX paper; issue "multimodal INPUT masking") hides whole conditions of some batch
items at the level of the RAW inputs, before any encoder runs, so the model learns to generate from
any subset of text / video / audio:

* text: with probability `text_ratio` the prompt becomes the default sentence of the item's type
  (or "" with `text_replacement="empty"`);
* video: with probability `video_ratio` all frames (and the sync features) become zeros, which the
  video conditioner treats as "no video";
* audio prompt: with probability `audio_ratio` either the whole prompt is zeroed (probability
  `audio_full_prob` among masked items) or a random span of `audio_span_min..audio_span_max` of it.

Random draws come only from the given generator, in a fixed order that does not depend on the
batch contents: text (B), video (B), audio (B), full-vs-span (B), span length (B), span start (B).

CFG dropout (`cfg_dropout`) is the official training-time context dropout: the whole conditioning
sequence of an item is replaced by zeros with probability `cfg_dropout_prob` (0.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from audiox.errors import ConfigError, InputError
from audiox.training.manifest import default_text_prompt

TEXT_REPLACEMENTS = ("default", "empty")


@dataclass(frozen=True, kw_only=True, slots=True)
class InputMaskingConfig:
    """Per-modality masking probabilities (defaults from the issue: video 0.6, text 0.2, audio 0.6)."""

    video_ratio: float = 0.6
    text_ratio: float = 0.2
    audio_ratio: float = 0.6
    text_replacement: str = "default"
    audio_full_prob: float = 0.5
    audio_span_min: float = 0.25
    audio_span_max: float = 0.75

    def __post_init__(self) -> None:
        for name in (
            "video_ratio",
            "text_ratio",
            "audio_ratio",
            "audio_full_prob",
            "audio_span_min",
            "audio_span_max",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"input masking: {name}={value!r} must be in [0, 1]")
        if self.audio_span_min > self.audio_span_max:
            raise ConfigError(
                f"input masking: audio_span_min={self.audio_span_min} > audio_span_max={self.audio_span_max}"
            )
        if self.text_replacement not in TEXT_REPLACEMENTS:
            raise ConfigError(
                f"input masking: text_replacement={self.text_replacement!r}; use {TEXT_REPLACEMENTS}"
            )


def draw_item_mask(batch_size: int, ratio: float, generator: torch.Generator) -> torch.Tensor:
    """(B,) bool: each item independently True with probability `ratio` (one uniform draw per item)."""
    return torch.rand(batch_size, generator=generator) < ratio


def mask_text(prompts: list[str], mask: torch.Tensor, replacements: list[str]) -> list[str]:
    """prompts[b] -> replacements[b] where mask[b]; a new list (the input is not changed)."""
    return [new if hidden else old for old, new, hidden in zip(prompts, replacements, mask.tolist())]


def zero_items(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """x: (B, ...) -> same shape with every value of the items where mask (B,) is True set to 0."""
    keep = (~mask).reshape(-1, *([1] * (x.ndim - 1)))
    return torch.where(keep, x, torch.zeros((), dtype=x.dtype))


def audio_span_mask(
    num_samples: int, mask: torch.Tensor, full: torch.Tensor, fraction: torch.Tensor, start_u: torch.Tensor
) -> torch.Tensor:
    """Sample-level mask (B, S) bool of what to zero in each audio prompt.

    mask, full: (B,) bool; fraction, start_u: (B,) in [0, 1). Masked items with `full` lose every
    sample; other masked items lose the span [start, start + n) with n = round(fraction * S) and
    start = floor(start_u * (S - n + 1)).
    """
    lengths = (fraction * num_samples).round().long().clamp(0, num_samples)  # (B,)
    starts = (start_u * (num_samples - lengths + 1)).floor().long()  # (B,)
    positions = torch.arange(num_samples)[None, :]  # (1, S)
    in_span = (positions >= starts[:, None]) & (positions < (starts + lengths)[:, None])  # (B, S)
    return mask[:, None] & (full[:, None] | in_span)


def mask_audio_prompt(audio: torch.Tensor, sample_mask: torch.Tensor) -> torch.Tensor:
    """audio: (B, C, S), sample_mask: (B, S) bool -> (B, C, S) with masked samples set to 0."""
    return audio.masked_fill(sample_mask[:, None, :], 0.0)


def mask_inputs(
    batch: dict[str, Any], cfg: InputMaskingConfig, generator: torch.Generator
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Mask the raw conditioning inputs of a collated batch (see the module docstring).

    Reads `text_prompt` (list[str]), `data_type` (list[str]), `video_prompt` ((B, F, 3, H, W) or None),
    `video_sync_frames` ((B, T, D) or None), `audio_prompt` ((B, C, S)). Returns a new batch dict
    (inputs untouched) and the masks applied: text, video, audio (B,) bool and audio_samples (B, S).
    """
    prompts, audio = batch["text_prompt"], batch["audio_prompt"]
    batch_size = len(prompts)
    if audio.ndim != 3 or audio.shape[0] != batch_size:
        raise InputError(f"{audio.shape=}, expected (B, C, S) with B = {batch_size} text prompts")
    text = draw_item_mask(batch_size, cfg.text_ratio, generator)
    video = draw_item_mask(batch_size, cfg.video_ratio, generator)
    audio_items = draw_item_mask(batch_size, cfg.audio_ratio, generator)
    full = draw_item_mask(batch_size, cfg.audio_full_prob, generator)
    span_u = torch.rand(batch_size, generator=generator)
    fraction = cfg.audio_span_min + (cfg.audio_span_max - cfg.audio_span_min) * span_u
    samples = audio_span_mask(
        audio.shape[-1], audio_items, full, fraction, torch.rand(batch_size, generator=generator)
    )
    masked = dict(batch)
    masked["text_prompt"] = mask_text(prompts, text, _text_replacements(batch, cfg))
    for key in ("video_prompt", "video_sync_frames"):
        if key in batch and batch[key] is not None:  # absent modalities are None
            masked[key] = zero_items(batch[key], video)  # video frames (B, F, 3, H, W) / sync (B, T, D)
    for key in ("has_video", "has_sync"):
        if key in batch:
            masked[key] = batch[key] & ~video
    masked["audio_prompt"] = mask_audio_prompt(audio, samples)
    return masked, {"text": text, "video": video, "audio": audio_items, "audio_samples": samples}


def _text_replacements(batch: dict[str, Any], cfg: InputMaskingConfig) -> list[str]:
    if cfg.text_replacement == "empty":
        return [""] * len(batch["text_prompt"])
    return [default_text_prompt(data_type) for data_type in batch["data_type"]]


def cfg_dropout(
    context: torch.Tensor, prob: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Classifier-free-guidance dropout of conditioning tokens.

    context: (B, T, D) -> (context with dropped items all zeros, dropped: (B,) bool); each item is
    dropped independently with probability `prob` (official `cfg_dropout_prob`, default 0.1).
    """
    if not 0.0 <= prob <= 1.0:
        raise InputError(f"cfg dropout prob={prob!r} must be in [0, 1]")
    dropped = draw_item_mask(context.shape[0], prob, generator)
    return zero_items(context, dropped), dropped
