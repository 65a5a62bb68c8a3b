"""Synthetic training examples: the training batch format, determinism, the task mix and its rules."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from audiox.errors import ConfigError
from audiox.synth.dataset import SynthConfig, render_item
from audiox.synth.training_data import (
    DEFAULT_TASK_WEIGHTS,
    TASKS,
    SynthTrainingConfig,
    SynthTrainingDataset,
    synth_training_config,
)
from audiox.training.data import collate_examples
from audiox.training.manifest import AUDIO_PROMPT_RULES, DEFAULT_TEXT_PROMPTS
from audiox.training.masking import InputMaskingConfig, mask_inputs

RATE, FPS, SIZE, WINDOW_S = 1000, 2, 16, 4.0


def small_cfg(**changes) -> SynthTrainingConfig:
    return SynthTrainingConfig(sample_rate=RATE, channels=1, video_fps=FPS, video_size=SIZE, window_s=WINDOW_S,
                               length=500, **changes)


def first_index(ds: SynthTrainingDataset, task: str) -> int:
    return next(i for i in range(len(ds)) if ds.task(i) == task)


@pytest.fixture(scope="module")
def ds() -> SynthTrainingDataset:
    return SynthTrainingDataset(small_cfg())


def test_batch_has_the_training_format(ds):
    examples = [ds[first_index(ds, task)] for task in TASKS]
    batch = ds.collate(examples)
    reference = collate_examples(examples, video_shape=ds.cfg.video_shape)
    assert set(batch) == set(reference) | {"task"} and batch["task"] == list(TASKS)
    n, frames = len(TASKS), round(WINDOW_S * FPS)
    assert batch["audio"].shape == batch["audio_prompt"].shape == (n, 1, round(WINDOW_S * RATE))
    assert batch["audio"].dtype == torch.float32 and batch["padding_mask"].dtype == torch.bool
    assert batch["video_prompt"].shape == (n, frames, 3, SIZE, SIZE) and batch["video_sync_frames"] is None
    assert batch["has_video"].tolist() == [TASKS[t].video != "none" for t in TASKS]
    assert batch["data_type"] == [rule.data_type for rule in TASKS.values()]
    assert all(t in AUDIO_PROMPT_RULES for t in batch["data_type"])
    masked, _ = mask_inputs(batch, InputMaskingConfig(), torch.Generator().manual_seed(0))
    assert masked["audio_prompt"].shape == batch["audio_prompt"].shape


def test_items_are_deterministic_per_seed_and_index(ds):
    again = SynthTrainingDataset(small_cfg())
    for index in (0, 7, 31):
        a, b = ds[index], again[index]
        assert a["task"] == b["task"] and a["text_prompt"] == b["text_prompt"]
        assert torch.equal(a["audio"], b["audio"]) and torch.equal(a["audio_prompt"], b["audio_prompt"])
    other = SynthTrainingDataset(small_cfg(seed=1))
    assert [ds.task(i) for i in range(60)] != [other.task(i) for i in range(60)]


def test_task_mix_follows_weights_and_item_kinds(ds):
    world = small_cfg().world()
    tasks = [ds.task(i) for i in range(len(ds))]
    counts = Counter(tasks)
    assert set(counts) == set(TASKS)
    from audiox.synth.dataset import sample_labels
    from audiox.synth.labels import MusicLabels

    for index, task in enumerate(tasks[:150]):
        is_music = isinstance(sample_labels(world, index), MusicLabels)
        assert TASKS[task].data_type.endswith("-music") == is_music
    audio_tasks = [t for t in TASKS if TASKS[t].data_type.endswith("-audio")]
    audio_total = sum(counts[t] for t in audio_tasks)
    weight_total = sum(DEFAULT_TASK_WEIGHTS[t] for t in audio_tasks)
    for task in audio_tasks:  # loose: 500 draws
        assert abs(counts[task] / audio_total - DEFAULT_TASK_WEIGHTS[task] / weight_total) < 0.1


def test_prompt_text_and_video_rules(ds):
    t2a = ds[first_index(ds, "T2A")]
    assert t2a["audio_prompt"].abs().sum() == 0 and t2a["video_prompt"] is None
    v2a = ds[first_index(ds, "V2A")]
    assert v2a["text_prompt"] == DEFAULT_TEXT_PROMPTS["audio"] and v2a["video_prompt"].max() > 1
    i2a = ds[first_index(ds, "I2A")]
    frames = i2a["video_prompt"]
    assert frames.max() <= 1.0 and torch.equal(frames[0], frames[-1])  # official image scaling, a still
    inp = ds[first_index(ds, "INP")]
    target = -inp["audio"] if inp["sign_flipped"] else inp["audio"]
    assert torch.equal(inp["audio_prompt"], target)  # "same": the un-flipped target window


def test_continuation_prompt_is_the_previous_window(ds):
    index = first_index(ds, "CONT")
    item = ds[index]
    assert item["seconds_start"] == round(WINDOW_S) and item["seconds_total"] == 2 * round(WINDOW_S)
    target = -item["audio"] if item["sign_flipped"] else item["audio"]
    assert not torch.equal(item["audio_prompt"], target) and item["audio_prompt"].abs().max() > 0
    caption = render_item(ds.cfg.world(), index)["caption"]
    assert item["text_prompt"] == caption


def test_sign_flips_change_with_the_epoch_only(ds):
    flips = []
    for epoch in range(6):
        ds.set_epoch(epoch)
        flips.append(ds[3]["sign_flipped"])
    ds.set_epoch(0)
    assert len(set(flips)) == 2


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"task_weights": {"T2X": 1.0}}, "unknown tasks"),
        ({"task_weights": {"T2A": 1.0}}, "targets music"),
        ({"task_weights": {"T2A": -1.0, "T2M": 1.0}}, ">= 0"),
        ({"image_scaling": "raw"}, "image_scaling"),
    ],
)
def test_bad_config_is_a_config_error(changes, message):
    with pytest.raises(ConfigError, match=message):
        small_cfg(**changes)


def test_config_for_the_own_model_matches_its_grid():
    from types import SimpleNamespace

    from audiox.config.own_model import OWN_SIZES, OWN_VISION_CONFIG, own_small_config

    model = SimpleNamespace(config=own_small_config(), conditioner=None)  # grid from the config alone
    cfg = synth_training_config(model, video_size=OWN_VISION_CONFIG["image_size"])
    assert (cfg.sample_rate, cfg.channels, cfg.video_fps) == (16000, 1, OWN_SIZES["video_fps"])
    assert cfg.world() == SynthConfig(seed=0, length=cfg.length, duration_s=10.0, sample_rate=16000, channels=1,
                                      music_prob=0.3, video_fps=10.0, video_height=64, video_width=64)


def test_the_training_step_consumes_a_batch():
    pytest.importorskip("lightning")
    from audiox.conditioning.tiny_encoders import tiny_conditioner_options, tiny_t5
    from audiox.config.presets import tiny_config
    from audiox.diffusion.model import DiffusionModel
    from audiox.training.config import TrainConfig
    from audiox.training.lightning_module import diffusion_loss_for_batch

    model = DiffusionModel(tiny_config("dit"), text_encoder=tiny_t5(), conditioner_options=tiny_conditioner_options())
    cfg = synth_training_config(model, length=20, task_weights={"TV2A": 1.0, "INP": 1.0, "T2M": 1.0, "CONT": 1.0})
    assert (cfg.sample_rate, cfg.channels, cfg.video_size) == (2048, 2, 64)
    ds = SynthTrainingDataset(cfg)
    batch = ds.collate([ds[i] for i in range(3)])
    loss = diffusion_loss_for_batch(model, batch, TrainConfig(), torch.Generator().manual_seed(0))
    assert loss.ndim == 0 and torch.isfinite(loss)
