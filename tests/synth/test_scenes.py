import numpy as np
import pytest

from audiox.synth.labels import EventLabel, SceneLabels, labels_from_dict, labels_to_dict
from audiox.synth.scenes import render_scene, sample_scene


def test_scene_structure():
    rng = np.random.default_rng(0)
    for _ in range(30):
        labels = sample_scene(rng, duration_s=10.0)
        assert 1 <= len(labels.kinds) <= 4 and all(1 <= n <= 4 for n in labels.counts.values())
        onsets = [e.onset_s for e in labels.events]
        assert onsets == sorted(onsets) and labels.events[-1].offset_s <= 10.0
        for a, b in zip(labels.events[:-1], labels.events[1:]):
            assert b.onset_s - a.offset_s >= 0.24  # min gap (rounded to ms)


def test_onsets_match_where_energy_appears():
    labels = sample_scene(np.random.default_rng(3), duration_s=6.0, background_prob=0.0)
    rate = 16000
    audio = render_scene(labels, sample_rate=rate, channels=2)
    mono = np.abs(audio).sum(axis=0)
    active = np.zeros(mono.size, dtype=bool)
    for e in labels.events:
        start, stop = round(e.onset_s * rate), round(e.offset_s * rate)
        active[start:stop] = True
        assert mono[start - 1] == 0.0 and mono[start : start + 160].max() > 1e-3
    assert np.all(mono[~active] == 0.0)


def test_render_deterministic_and_rate_is_a_parameter():
    labels = sample_scene(np.random.default_rng(4), duration_s=3.0, background_prob=1.0)
    a = render_scene(labels, sample_rate=16000, channels=1)
    np.testing.assert_array_equal(a, render_scene(labels, sample_rate=16000, channels=1))
    assert a.shape == (1, 48000) and a.dtype == np.float32
    assert render_scene(labels, sample_rate=44100, channels=2).shape == (2, 132300)


def test_same_generator_seed_same_scene():
    assert sample_scene(np.random.default_rng(9)) == sample_scene(np.random.default_rng(9))
    assert sample_scene(np.random.default_rng(9)) != sample_scene(np.random.default_rng(10))


def test_labels_dict_round_trip_and_user_labels():
    labels = sample_scene(np.random.default_rng(5))
    assert labels_from_dict(labels_to_dict(labels)) == labels
    user = labels_from_dict(
        {
            "duration_s": 5.0,
            "events": [
                {"kind": "dog", "onset_s": 2.0, "offset_s": 2.5},
                {"kind": "car", "onset_s": 0.5, "offset_s": 1.0},
            ],
        }
    )
    assert user.kinds == ("car", "dog") and user.counts == {"car": 1, "dog": 1}


def test_bad_user_labels_raise_input_error():
    from audiox.errors import InputError

    with pytest.raises(InputError, match="unknown field"):
        labels_from_dict(
            {"duration_s": 1.0, "events": [{"kind": "x", "onset_s": 0, "offset_s": 1, "colour": 2}]}
        )
    with pytest.raises(InputError, match="key"):
        labels_from_dict(
            {
                "duration_s": 1.0,
                "tempo_bpm": 90,
                "key": "H",
                "mode": "major",
                "instrument": "piano",
                "genre": "pop",
            }
        )


def test_empty_scene_renders_background_only():
    labels = SceneLabels(duration_s=1.0, events=(), background="hum", background_db=-40.0, background_seed=1)
    audio = render_scene(labels, sample_rate=8000, channels=2)
    assert 20 * np.log10(np.sqrt(np.mean(audio**2))) == pytest.approx(-40.0, abs=0.5)
    assert EventLabel(kind="x", onset_s=1.0, offset_s=1.5).duration_s == 0.5
