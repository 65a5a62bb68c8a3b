import numpy as np
import pytest
import torch

from audiox.evaluation.analyser import detect_video_onsets, evaluate_items, sync_error_ms
from audiox.evaluation.event_classifier import EventClassifier, train_event_classifier
from audiox.synth.dataset import SynthConfig, render_item
from audiox.synth.events import EVENT_KINDS

SCENES = SynthConfig(
    seed=77,
    duration_s=6.0,
    sample_rate=16000,
    channels=1,
    music_prob=0.0,
    video_fps=25.0,
    video_height=32,
    video_width=32,
    with_image=False,
)


@pytest.fixture(scope="module")
def scene_items():
    return [render_item(SCENES, i) for i in range(8)]


def test_ground_truth_scenes_score_near_100(analyser, scene_items):
    report = evaluate_items(analyser, scene_items)
    s = report.instruction
    assert s.category >= 0.9 and s.count >= 0.8 and s.order >= 0.8 and s.timestamp >= 0.8, report.line()
    assert report.sync_error_ms < 30.0, report.line()


def test_white_noise_scores_near_chance(analyser, scene_items):
    rng = np.random.default_rng(0)
    noisy = [
        {**it, "audio": torch.from_numpy((0.1 * rng.standard_normal(it["audio"].shape)).astype(np.float32))}
        for it in scene_items
    ]
    report = evaluate_items(analyser, noisy)
    s = report.instruction
    assert s.category <= 0.2 and s.count <= 0.2 and s.order <= 0.2 and s.timestamp <= 0.2, report.line()
    assert report.sync_error_ms > 100.0, report.line()


def test_44k_stereo_truth(analyser):
    cfg = SynthConfig(
        seed=3, duration_s=5.0, sample_rate=44100, channels=2, music_prob=0.0, video_fps=0.0, with_image=False
    )
    items = [render_item(cfg, i) for i in range(3)]
    assert evaluate_items(analyser, items).instruction.category >= 0.9


def test_detects_isolated_kinds(analyser):
    from audiox.evaluation.event_classifier import _training_example

    rng = np.random.default_rng(99)
    hits = sum(
        analyser.classifier.classify(_training_example(kind, rng, 16000)[0][None])[0][0] == kind
        for kind in EVENT_KINDS
        for _ in range(3)
    )
    assert hits >= 27


def test_classifier_training_is_deterministic_and_saves(tmp_path):
    a = train_event_classifier(seed=1, per_kind=3)
    b = train_event_classifier(seed=1, per_kind=3)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name
    a.save(tmp_path / "clf.safetensors")
    c = EventClassifier.load(tmp_path / "clf.safetensors")
    features = torch.randn(4, c.feature_mean.numel())
    assert c.kinds == a.kinds and torch.equal(c(features), a(features))


def test_video_onsets_and_sync_error():
    frames = torch.zeros(20, 3, 8, 8, dtype=torch.uint8)
    frames[5:8] = 200
    frames[12:] = 120
    np.testing.assert_allclose(detect_video_onsets(frames, 10.0), [0.5, 1.2])
    assert sync_error_ms(np.array([0.5, 1.2]), np.array([0.51, 1.0])) == pytest.approx(105.0)
    assert sync_error_ms(np.array([0.5]), np.array([])) == 1000.0
    assert np.isnan(sync_error_ms(np.array([]), np.array([0.1])))


def test_mel_filterbank_covers_the_band_once():
    from audiox.evaluation.onsets import mel_filterbank

    bank = mel_filterbank(16000, 512, 32, 0.0, 8000.0)
    assert bank.shape == (32, 257) and float(bank.min()) == 0.0
    inner = bank[:, 5:192].sum(axis=0)  # 0.16..6 kHz: triangles overlap by half, so every bin sums to ~1
    assert np.allclose(inner, np.ones_like(inner), atol=0.05)
