import numpy as np

from audiox.evaluation.analyser import evaluate_items
from audiox.evaluation.onsets import analyse_spectrum
from audiox.evaluation.tonal import chroma, estimate_key, estimate_tempo
from audiox.synth.dataset import SynthConfig, render_item
from audiox.synth.music import Note, render_note


def _clicks(bpm, rate=8000, seconds=8.0):
    audio = np.zeros(int(rate * seconds))
    for t in np.arange(0.1, seconds, 60.0 / bpm):
        audio[int(t * rate) : int(t * rate) + 80] = np.hanning(80)
    return audio


def test_tempo_of_click_tracks():
    for bpm in (75.0, 100.0, 128.0):
        assert abs(estimate_tempo(analyse_spectrum(_clicks(bpm), 8000)) - bpm) <= 0.04 * bpm


def test_key_of_a_triad_loop():
    rate = 8000
    parts = []
    for root, third in ((57, 60), (62, 65), (64, 68), (57, 60)):  # A minor: i, iv, V, i
        chord = sum(render_note("organ", Note(0.0, 0.5, m, 0.5), rate) for m in (root, third, root + 7))
        parts += [chord, render_note("organ", Note(0.0, 0.5, 57, 0.6), rate)]
    assert estimate_key(np.concatenate(parts), rate) == ("A", "minor")
    assert chroma(np.zeros(rate), rate).shape == (12,)


def test_ground_truth_music(analyser):
    cfg = SynthConfig(
        seed=21,
        duration_s=8.0,
        sample_rate=16000,
        channels=1,
        music_prob=1.0,
        video_fps=0.0,
        with_image=False,
    )
    report = evaluate_items(analyser, [render_item(cfg, i) for i in range(6)])
    assert report.tempo_accuracy_octave >= 0.8 and report.key_accuracy >= 0.6, report.line()


def test_silence_has_no_tempo():
    assert estimate_tempo(analyse_spectrum(np.zeros(16000), 16000)) == 0.0
