"""Training dataset: crop/pad lengths, official window offsets, audio-prompt type rules, collate."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from audiox.errors import ConfigError, InputError, MediaError
from audiox.training.data import (
    ManifestDataset,
    TrainingDataConfig,
    audio_prompt_start_s,
    collate_examples,
    crop_window,
    load_sync_features,
    window_offsets,
)
from audiox.training.manifest import read_manifest
from tests.media.factory import encode_video, numbered_frames

RATE = 1000  # tiny model rate: 10 s windows are 10000 samples


def second_ramp(seconds: float, rate: int = RATE) -> np.ndarray:
    """(1, S) mono signal whose value in second s is (s + 1) / 100."""
    index = np.arange(round(seconds * rate))
    return ((index // rate + 1) / 100).astype(np.float32)[None]


def write_wav(path, audio: np.ndarray, rate: int = RATE):
    sf.write(path, audio.T, rate, subtype="FLOAT")
    return str(path)


def make_dataset(tmp_path, rows: list[dict], **overrides) -> ManifestDataset:
    manifest = tmp_path / "train.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = TrainingDataConfig(**{"sample_rate": RATE, "sample_size": 10 * RATE, **overrides})
    return ManifestDataset(read_manifest(manifest), cfg)


def second_of(value: torch.Tensor) -> int:
    """Inverse of second_ramp for a single value."""
    return round(float(value) * 100) - 1


def test_quirk_window_offsets_are_multiples_of_10_s_away_from_the_tail():
    sr, size = 44100, 441000
    assert window_offsets(25 * sr, size, sr) == [0, 10 * sr]
    assert window_offsets(20 * sr, size, sr) == [0, 10 * sr]  # <= 20 s: the tail rule is off
    assert window_offsets(40 * sr, size, sr) == [0, 10 * sr, 20 * sr]  # 30 s fits but is in the last 15 s
    assert window_offsets(60 * sr, size, sr) == [0, 10 * sr, 20 * sr, 30 * sr, 40 * sr]
    assert window_offsets(9 * sr, size, sr) == []


def test_crop_window_pads_right_and_marks_real_samples():
    audio = torch.arange(1, 8, dtype=torch.float32).repeat(2, 1)  # (2, 7)
    chunk, mask = crop_window(audio, 0, 10)
    assert chunk.shape == (2, 10) and mask.shape == (10,)
    assert torch.equal(chunk[:, :7], audio) and not chunk[:, 7:].any()
    assert mask.tolist() == [True] * 7 + [False] * 3
    chunk, mask = crop_window(audio, 2, 4)
    assert chunk[0].tolist() == [3, 4, 5, 6] and mask.all()


@pytest.mark.parametrize(("seconds", "file_rate"), [(3.5, RATE), (10.0, RATE), (34.0, RATE), (4.0, 2 * RATE)])
def test_item_lengths_are_the_model_sample_size(tmp_path, seconds, file_rate):
    wav = write_wav(tmp_path / "a.wav", second_ramp(seconds, file_rate), file_rate)
    dataset = make_dataset(tmp_path, [{"path": wav, "type": "text_condition-audio", "caption": "x"}])
    item = dataset[0]
    assert item["audio"].shape == (2, 10 * RATE)  # mono file forced to stereo, resampled to RATE
    assert item["audio_prompt"].shape == (2, 10 * RATE)
    real = min(round(seconds * RATE), 10 * RATE)
    assert item["padding_mask"].sum() == real and item["padding_mask"][:real].all()
    assert not item["audio"][:, real:].any()
    assert item["seconds_total"] == int(np.ceil(seconds))


def test_random_offsets_come_from_the_item_generator(tmp_path):
    wav = write_wav(tmp_path / "long.wav", second_ramp(60))
    dataset = make_dataset(tmp_path, [{"path": wav, "type": "text_condition-audio"}], random_sign_flip=False)
    starts = set()
    for epoch in range(12):
        dataset.set_epoch(epoch)
        item = dataset[0]
        starts.add(item["seconds_start"])
        assert second_of(item["audio"][0, 0]) == item["seconds_start"]
        assert torch.equal(dataset[0]["audio"], item["audio"])  # same (seed, epoch, index): same item
    assert starts <= {0, 10, 20, 30, 40} and len(starts) > 1
    fixed = make_dataset(tmp_path, [{"path": wav, "type": "text_condition-audio"}], random_crop=False)
    assert fixed[0]["seconds_start"] == 0


def test_type_rules_for_the_audio_prompt(tmp_path):
    wav = write_wav(tmp_path / "long.wav", second_ramp(60))
    rows = [
        {"path": wav, "type": t}
        for t in ("text_condition-music", "audio_condition-audio", "audio_condition-music")
    ]
    dataset = make_dataset(tmp_path, rows, random_sign_flip=False)
    for epoch in range(8):
        dataset.set_epoch(epoch)
        text, same, previous = dataset[0], dataset[1], dataset[2]
        assert not text["audio_prompt"].any()
        assert torch.equal(same["audio_prompt"], same["audio"])
        expected_first = max(previous["seconds_start"] - 10, 0)
        assert second_of(previous["audio_prompt"][0, 0]) == expected_first
        assert second_of(previous["audio_prompt"][0, -1]) == expected_first + 9


def test_prompt_rule_boundaries():
    assert audio_prompt_start_s("none", 30, 10.0) is None
    assert audio_prompt_start_s("same", 30, 10.0) == 30.0
    assert audio_prompt_start_s("previous", 30, 10.0) == 20.0
    assert audio_prompt_start_s("previous", 5, 10.0) == 0.0  # official: first 10 s when start < 10
    with pytest.raises(InputError):
        audio_prompt_start_s("later", 0, 10.0)


def test_quirk_sign_flip_leaves_the_audio_prompt_unflipped(tmp_path):
    wav = write_wav(tmp_path / "a.wav", second_ramp(10))
    dataset = make_dataset(tmp_path, [{"path": wav, "type": "audio_condition-audio"}])
    flips = []
    for epoch in range(16):
        dataset.set_epoch(epoch)
        item = dataset[0]
        flips.append(item["sign_flipped"])
        sign = -1.0 if item["sign_flipped"] else 1.0
        assert torch.equal(item["audio"], sign * item["audio_prompt"])
        assert (item["audio_prompt"] > 0).all()
    assert any(flips) and not all(flips)


def test_text_prompt_is_the_window_caption_or_the_default_sentence(tmp_path):
    wav = write_wav(tmp_path / "long.wav", second_ramp(30))
    caption = {"audio_caption": {"0-10": "first", "10-20": "second"}}
    rows = [
        {"path": wav, "type": "text_condition-audio", "caption": caption},
        {"path": wav, "type": "video_condition-music"},
    ]
    dataset = make_dataset(tmp_path, rows, random_crop=False)
    assert dataset[0]["text_prompt"] == "first"
    assert dataset[1]["text_prompt"] == "Generate music for the video"
    empty = make_dataset(tmp_path, rows, fill_missing_text=False)
    assert empty[1]["text_prompt"] == ""


def test_video_and_sync_features_are_loaded_and_collated(tmp_path):
    wav = write_wav(tmp_path / "a.wav", second_ramp(2))
    video = encode_video(tmp_path / "v.mkv", numbered_frames(20, 16, 16), 10)
    torch.save(torch.randn(1, 24, 8), tmp_path / "sync.pt")
    rows = [
        {
            "path": wav,
            "type": "video_condition-audio",
            "video_path": str(video),
            "sync_feature": str(tmp_path / "sync.pt"),
        },
        {"path": wav, "type": "text_condition-audio", "caption": "x"},
    ]
    dataset = make_dataset(
        tmp_path, rows, sample_size=2 * RATE, condition_duration_s=2.0, window_step_s=2.0, video_size=16
    )
    with_video, without = dataset[0], dataset[1]
    assert (
        with_video["video_prompt"].shape == (10, 3, 16, 16)
        and with_video["video_prompt"].dtype == torch.float32
    )
    assert with_video["video_sync_frames"].shape == (24, 8)
    assert without["video_prompt"] is None and without["video_sync_frames"] is None
    batch = dataset.collate([with_video, without])
    assert batch["audio"].shape == (2, 2, 2 * RATE) and batch["padding_mask"].dtype == torch.bool
    assert batch["video_prompt"].shape == (2, 10, 3, 16, 16) and not batch["video_prompt"][1].any()
    assert batch["has_video"].tolist() == [True, False] and batch["has_sync"].tolist() == [True, False]
    assert batch["video_sync_frames"].shape == (2, 24, 8) and not batch["video_sync_frames"][1].any()
    assert batch["text_prompt"] == [with_video["text_prompt"], "x"]
    assert batch["data_type"] == ["video_condition-audio", "text_condition-audio"]


def test_collate_without_any_video_uses_the_given_shape_or_none():
    item = {
        "audio": torch.zeros(2, 8),
        "padding_mask": torch.ones(8, dtype=torch.bool),
        "text_prompt": "t",
        "video_prompt": None,
        "video_sync_frames": None,
        "audio_prompt": torch.zeros(2, 4),
        "data_type": "text_condition-audio",
        "seconds_start": 0,
        "seconds_total": 1,
        "path": "a",
        "sign_flipped": False,
    }
    batch = collate_examples([item, item], video_shape=(5, 3, 4, 4))
    assert batch["video_prompt"].shape == (2, 5, 3, 4, 4) and not batch["has_video"].any()
    assert collate_examples([item])["video_prompt"] is None
    with pytest.raises(InputError):
        collate_examples([])


def test_sync_feature_errors(tmp_path):
    with pytest.raises(MediaError, match="not found"):
        load_sync_features(tmp_path / "none.pt")
    torch.save(torch.randn(2, 3, 4), tmp_path / "bad.pt")
    with pytest.raises(MediaError, match=r"\(T, D\)"):
        load_sync_features(tmp_path / "bad.pt")
    np.save(tmp_path / "ok.npy", np.ones((6, 4), np.float32))
    assert load_sync_features(tmp_path / "ok.npy").shape == (6, 4)


def test_missing_audio_file_is_a_media_error(tmp_path):
    dataset = make_dataset(tmp_path, [{"path": str(tmp_path / "gone.wav"), "type": "text_condition-audio"}])
    with pytest.raises(MediaError, match="gone.wav"):
        dataset[0]


def test_bad_config_values():
    with pytest.raises(ConfigError, match="sample_size"):
        TrainingDataConfig(sample_rate=RATE, sample_size=0)
    with pytest.raises(ConfigError, match="video_fps"):
        TrainingDataConfig(sample_rate=RATE, sample_size=10, video_fps=0)
