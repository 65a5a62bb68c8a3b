import numpy as np
import torch

from audiox.synth.labels import EventLabel, MusicLabels, SceneLabels
from audiox.synth.video import KIND_STYLES, SLOTS, kind_style, render_music_video, render_still, render_video


def _scene():
    events = (
        EventLabel(kind="bell", onset_s=0.5, offset_s=1.0),
        EventLabel(kind="knock", onset_s=1.4, offset_s=1.5),
        EventLabel(kind="bell", onset_s=2.0, offset_s=2.5),
    )
    return SceneLabels(duration_s=3.0, events=events)


def test_shapes_appear_at_onsets():
    frames = render_video(_scene(), fps=10.0, height=48, width=48)
    assert frames.shape == (30, 3, 48, 48) and frames.dtype == torch.uint8
    bell_rgb = torch.tensor(KIND_STYLES["bell"][1])
    centre = tuple(round(c * 47) for c in SLOTS[0])

    def lit(f):  # the bell ring's centre is hollow: sample the ring 0.75 radius to the right
        row, col = centre[0], centre[1] + round(0.75 * 0.17 * 48)
        return frames[f, :, row, col].float()

    assert torch.allclose(lit(5), bell_rgb.float(), atol=3)  # onset frame 0.5 s * 10 fps
    assert lit(4).sum() < 100  # before the onset: background
    assert lit(12).sum() < 100  # between the bells
    assert torch.allclose(lit(20), bell_rgb.float(), atol=3)


def test_music_video_pulses_on_beats():
    labels = MusicLabels(
        duration_s=4.0,
        tempo_bpm=120.0,
        key="A",
        mode="minor",
        instrument="piano",
        genre="pop",
        first_beat_s=0.2,
    )
    frames = render_music_video(labels, fps=25.0, height=32, width=32)
    brightness = frames.float().mean(dim=(1, 2, 3))
    for beat in labels.beat_times_s:
        on, mid = round(beat * 25), round((beat + 0.25) * 25)
        assert brightness[on] > brightness[mid] + 1


def test_stills_and_unknown_kinds():
    still = render_still(_scene(), height=40, width=40)
    assert still.shape == (3, 40, 40) and still.dtype == torch.uint8
    assert kind_style("helicopter") == kind_style("helicopter") and kind_style("helicopter")[0]
    user = SceneLabels(duration_s=1.0, events=(EventLabel(kind="helicopter", onset_s=0.1, offset_s=0.5),))
    assert render_video(user, fps=5.0, height=16, width=16).shape == (5, 3, 16, 16)
    labels = MusicLabels(
        duration_s=1.0, tempo_bpm=90.0, key="C", mode="major", instrument="flute", genre="folk"
    )
    assert np.asarray(render_still(labels, height=16, width=16)).max() > 0


def test_beat_in_the_last_half_frame():
    labels = MusicLabels(
        duration_s=1.0,
        tempo_bpm=60.0,
        key="C",
        mode="major",
        instrument="synth",
        genre="pop",
        first_beat_s=0.99,
    )
    assert render_music_video(labels, fps=25.0, height=8, width=8).shape == (25, 3, 8, 8)
