"""Input masking masks the raw inputs, at the configured rates; CFG dropout zeroes whole contexts."""

from __future__ import annotations

import math

import pytest
import torch

from audiox.errors import ConfigError, InputError
from audiox.training.masking import (
    InputMaskingConfig,
    audio_span_mask,
    cfg_dropout,
    draw_item_mask,
    mask_inputs,
)


def raw_batch(batch_size: int, *, frames: int = 2, prompt_samples: int = 40) -> dict:
    """A collated batch of raw inputs with no zero values anywhere."""
    return {
        "text_prompt": [f"caption {b}" for b in range(batch_size)],
        "data_type": [
            "text+video_condition-music" if b % 2 else "uni_condition-audio" for b in range(batch_size)
        ],
        "video_prompt": torch.rand(batch_size, frames, 3, 4, 4) * 254 + 1,  # (B, F, 3, H, W), raw 1..255
        "video_sync_frames": torch.rand(batch_size, 6, 5) + 1,  # (B, T, D)
        "audio_prompt": torch.rand(batch_size, 2, prompt_samples) + 0.1,  # (B, C, S)
        "has_video": torch.ones(batch_size, dtype=torch.bool),
        "has_sync": torch.ones(batch_size, dtype=torch.bool),
        "audio": torch.randn(batch_size, 2, 16),
    }


def within_binomial(count: int, n: int, p: float) -> bool:
    return abs(count - n * p) <= 5 * math.sqrt(n * p * (1 - p)) + 1


def test_default_ratios():
    cfg = InputMaskingConfig()
    assert (cfg.video_ratio, cfg.text_ratio, cfg.audio_ratio) == (0.6, 0.2, 0.6)


@pytest.mark.parametrize(("video", "text", "audio"), [(0.6, 0.2, 0.6), (0.1, 0.9, 0.35)])
def test_masks_the_configured_fraction_over_many_draws(video, text, audio):
    cfg = InputMaskingConfig(video_ratio=video, text_ratio=text, audio_ratio=audio)
    generator = torch.Generator().manual_seed(1234)
    batch_size, rounds = 64, 80
    counts = {"text": 0, "video": 0, "audio": 0}
    for _ in range(rounds):
        _, masks = mask_inputs(raw_batch(batch_size), cfg, generator)
        for name in counts:
            counts[name] += int(masks[name].sum())
    n = batch_size * rounds
    assert within_binomial(counts["video"], n, video)
    assert within_binomial(counts["text"], n, text)
    assert within_binomial(counts["audio"], n, audio)


def test_masks_are_what_happens_to_the_raw_inputs():
    batch = raw_batch(32)
    before = {k: (v.clone() if isinstance(v, torch.Tensor) else list(v)) for k, v in batch.items()}
    masked, masks = mask_inputs(batch, InputMaskingConfig(), torch.Generator().manual_seed(0))
    for b in range(32):
        video_zero = not masked["video_prompt"][b].any() and not masked["video_sync_frames"][b].any()
        assert video_zero == bool(masks["video"][b])
        if not masks["video"][b]:
            assert torch.equal(masked["video_prompt"][b], batch["video_prompt"][b])
        expected_text = "Generate music for the video" if b % 2 else "Generate general audio for the video"
        assert masked["text_prompt"][b] == (expected_text if masks["text"][b] else batch["text_prompt"][b])
        zeroed = (masked["audio_prompt"][b] == 0).all(dim=0)  # (S,) samples zero in every channel
        assert torch.equal(zeroed, masks["audio_samples"][b])
        assert masks["audio_samples"][b].any() == masks["audio"][b]
    assert torch.equal(masked["has_video"], ~masks["video"])
    # inputs are not modified in place, and non-condition entries pass through untouched
    for key, value in before.items():
        assert torch.equal(batch[key], value) if isinstance(value, torch.Tensor) else batch[key] == value
    assert masked["audio"] is batch["audio"]


def test_audio_masking_zeroes_whole_prompts_or_spans_of_the_configured_size():
    cfg = InputMaskingConfig(audio_ratio=1.0, audio_full_prob=0.5, audio_span_min=0.25, audio_span_max=0.75)
    _, masks = mask_inputs(raw_batch(400, prompt_samples=100), cfg, torch.Generator().manual_seed(3))
    zeroed = masks["audio_samples"].sum(dim=1)  # (B,)
    full = zeroed == 100
    assert within_binomial(int(full.sum()), 400, 0.5)
    spans = zeroed[~full]
    assert spans.min() >= 25 and spans.max() <= 75
    for row in masks["audio_samples"][~full]:  # one contiguous span each
        where = row.nonzero().flatten()
        assert where[-1] - where[0] + 1 == len(where)


def test_audio_span_mask_positions():
    mask = torch.tensor([True, True, False])
    full = torch.tensor([False, True, False])
    out = audio_span_mask(10, mask, full, torch.tensor([0.3, 0.3, 0.3]), torch.tensor([0.99, 0.0, 0.5]))
    assert out[0].tolist() == [False] * 7 + [True] * 3  # span of 3 at the latest start
    assert out[1].all() and not out[2].any()


def test_empty_text_replacement_and_zero_ratios():
    cfg = InputMaskingConfig(text_ratio=1.0, video_ratio=0.0, audio_ratio=0.0, text_replacement="empty")
    batch = raw_batch(4)
    masked, masks = mask_inputs(batch, cfg, torch.Generator().manual_seed(0))
    assert masked["text_prompt"] == [""] * 4
    assert torch.equal(masked["video_prompt"], batch["video_prompt"])
    assert torch.equal(masked["audio_prompt"], batch["audio_prompt"]) and not masks["audio_samples"].any()


def test_absent_video_stays_none():
    batch = raw_batch(3)
    batch["video_prompt"] = batch["video_sync_frames"] = None
    masked, _ = mask_inputs(batch, InputMaskingConfig(video_ratio=1.0), torch.Generator().manual_seed(0))
    assert masked["video_prompt"] is None and masked["video_sync_frames"] is None


def test_same_generator_state_same_masks():
    cfg = InputMaskingConfig()
    _, a = mask_inputs(raw_batch(8), cfg, torch.Generator().manual_seed(7))
    _, b = mask_inputs(raw_batch(8), cfg, torch.Generator().manual_seed(7))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bad_masking_config_and_batch():
    with pytest.raises(ConfigError, match="video_ratio"):
        InputMaskingConfig(video_ratio=1.5)
    with pytest.raises(ConfigError, match="audio_span_min"):
        InputMaskingConfig(audio_span_min=0.8, audio_span_max=0.2)
    with pytest.raises(ConfigError, match="text_replacement"):
        InputMaskingConfig(text_replacement="drop")
    batch = raw_batch(2)
    batch["audio_prompt"] = batch["audio_prompt"][0]
    with pytest.raises(InputError, match="audio.shape"):
        mask_inputs(batch, InputMaskingConfig(), torch.Generator())


def test_cfg_dropout_zeroes_whole_items_at_the_rate():
    context = torch.rand(4000, 3, 2) + 1  # (B, T, D)
    out, dropped = cfg_dropout(context, 0.1, torch.Generator().manual_seed(5))
    assert within_binomial(int(dropped.sum()), 4000, 0.1)
    assert not out[dropped].any() and torch.equal(out[~dropped], context[~dropped])
    assert (
        not draw_item_mask(10, 0.0, torch.Generator()).any()
        and draw_item_mask(10, 1.0, torch.Generator()).all()
    )
    with pytest.raises(InputError):
        cfg_dropout(context, 2.0, torch.Generator())
