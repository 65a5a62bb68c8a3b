import numpy as np
import pytest

from audiox.synth.events import EVENT_KINDS, EventSound, render_event, sample_event_sound


@pytest.mark.parametrize("sample_rate", [16000, 44100])
def test_every_kind_renders_its_length_and_loudness(sample_rate):
    rng = np.random.default_rng(0)
    for kind in EVENT_KINDS:
        sound = sample_event_sound(kind, rng)
        wave = render_event(sound, sample_rate)
        assert wave.dtype == np.float32 and wave.shape == (round(sound.duration_s * sample_rate),)
        assert np.isfinite(wave).all()
        assert np.max(np.abs(wave)) == pytest.approx(10 ** (sound.gain_db / 20), rel=1e-4)


def test_energy_starts_at_the_first_samples():
    rng = np.random.default_rng(1)
    for kind in EVENT_KINDS:
        wave = render_event(sample_event_sound(kind, rng), 16000)
        first_20ms = np.sqrt(np.mean(wave[:320] ** 2))
        assert first_20ms > 1e-3 * np.max(np.abs(wave)), kind


def test_render_is_deterministic_in_the_seed():
    sound = EventSound(kind="rain", duration_s=0.5, pitch_hz=3000.0, gain_db=-10.0, seed=7)
    np.testing.assert_array_equal(render_event(sound, 16000), render_event(sound, 16000))
    other = EventSound(kind="rain", duration_s=0.5, pitch_hz=3000.0, gain_db=-10.0, seed=8)
    assert not np.array_equal(render_event(sound, 16000), render_event(other, 16000))


def test_sampled_variation_within_ranges():
    rng = np.random.default_rng(2)
    draws = [sample_event_sound("bell", rng) for _ in range(20)]
    assert len({d.pitch_hz for d in draws}) == 20 and len({d.duration_s for d in draws}) > 10
    assert all(-18.0 <= d.gain_db <= -6.0 for d in draws)
