import numpy as np

from audiox.synth.labels import PITCH_CLASSES
from audiox.synth.music import (
    GENRES,
    INSTRUMENTS,
    Note,
    compose_score,
    render_music,
    render_note,
    sample_music,
)


def test_music_labels_and_render():
    rng = np.random.default_rng(0)
    labels = sample_music(rng, duration_s=4.0)
    assert 70 <= labels.tempo_bpm <= 150 and labels.key in PITCH_CLASSES and labels.instrument in INSTRUMENTS
    audio = render_music(labels, sample_rate=16000, channels=2)
    assert audio.shape == (2, 64000) and audio.dtype == np.float32
    assert np.max(np.abs(audio)) <= 0.7 + 1e-6
    np.testing.assert_array_equal(audio, render_music(labels, sample_rate=16000, channels=2))


def test_score_follows_the_beat_and_the_scale():
    rng = np.random.default_rng(1)
    for _ in range(6):
        labels = sample_music(rng, duration_s=6.0)
        melody, bass = compose_score(labels)
        beats = labels.beat_times_s
        assert np.allclose(np.diff(beats), 60.0 / labels.tempo_bpm)
        tonic = PITCH_CLASSES.index(labels.key)
        scale = {0: (0, 2, 4, 5, 7, 9, 11), 1: (0, 2, 3, 5, 7, 8, 10)}[labels.mode == "minor"]
        for note in melody + bass:
            assert (note.midi - tonic) % 12 in scale
        assert all(np.isclose(beats, n.start_s).any() for n in bass)


def test_every_instrument_and_genre_renders():
    for instrument in INSTRUMENTS:
        wave = render_note(instrument, Note(0.0, 0.2, 60, 0.8), 16000)
        assert wave.shape == (3200,) and np.abs(wave).max() > 0.1
    rng = np.random.default_rng(2)
    seen = {sample_music(rng).genre for _ in range(40)}
    assert seen == set(GENRES)
