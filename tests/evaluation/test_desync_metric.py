"""The DeSync reduction (offset classes -> seconds, windows, averaging), the window choice of the
embedder, and the av-benchmark video frame reader (25 fps by timestamp, short side + centre crop)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from audiox.errors import InputError
from audiox.evaluation.avsync import SyncClassifier, desync_from_logits, offset_grid
from audiox.evaluation.avsync.desync import segments_in, window_seconds, window_starts
from audiox.evaluation.avsync.video_frames import read_sync_frames, resize_short_side_and_crop
from audiox.evaluation.embedders.base import EmbedderInfo
from audiox.evaluation.embedders.synchformer import SynchformerEmbedder, clip_frames_of
from tests.evaluation.desync_helpers import TINY
from tests.media.factory import encode_video, frame_numbers, numbered_frames


def test_offset_grid_is_21_classes_of_two_tenths():
    grid = offset_grid()
    assert grid.shape == (21,)
    np.testing.assert_allclose(grid, np.arange(-10, 11) * 0.2, atol=1e-12)
    assert grid[10] == 0.0


def test_desync_is_mean_absolute_predicted_offset():
    rng = np.random.default_rng(0)
    classes = np.array([0, 10, 20, 13, 7, 10])  # -2.0, 0, +2.0, +0.6, -0.6, 0
    logits = rng.normal(size=(6, 21))
    logits[np.arange(6), classes] = 50.0
    value, offsets = desync_from_logits(logits)
    np.testing.assert_allclose(offsets, [2.0, 0.0, 2.0, 0.6, 0.6, 0.0], atol=1e-12)
    assert value == pytest.approx((2.0 + 2.0 + 0.6 + 0.6) / 6)


@pytest.mark.parametrize("bad", [np.zeros((0, 21)), np.zeros(21), np.full((2, 21), np.nan)])
def test_desync_refuses_bad_logits(bad):
    with pytest.raises(InputError):
        desync_from_logits(bad)


def test_segment_arithmetic_of_the_benchmark():
    assert window_seconds(14) == pytest.approx(4.8)
    assert clip_frames_of(8.0) == 200 and segments_in(200) == 24  # 8 s clip -> 24 segments
    assert window_starts(24, 14) == (0, 10)  # windows 0-4.8 s and 3.2-8.0 s
    assert window_starts(14, 14) == (0, 0)
    assert segments_in(15) == 0 and segments_in(16) == 1 and segments_in(23) == 1 and segments_in(24) == 2
    with pytest.raises(InputError, match="needs 14"):
        window_starts(13, 14)
    with pytest.raises(InputError, match="desync-seconds"):
        clip_frames_of(0.0)


def test_window_logits_classify_first_and_last_window():
    torch.manual_seed(0)
    model = SyncClassifier(TINY).eval()
    info = EmbedderInfo(name="synchformer", sample_rate=16000, checkpoint=None, sha256="0" * 64, version=1)
    embedder = SynchformerEmbedder(model, info, clip_frames=200, device="cpu")
    video = np.random.default_rng(1).normal(size=(24, 8, 32)).astype(np.float32)
    audio = np.random.default_rng(2).normal(size=(20, 6, 32)).astype(np.float32)  # shorter: 20 common
    got = embedder.window_logits(video, audio)
    with torch.no_grad():
        first = model.compare(torch.from_numpy(video[None, :14]), torch.from_numpy(audio[None, :14]))
        last = model.compare(torch.from_numpy(video[None, 6:20]), torch.from_numpy(audio[None, 6:20]))
    np.testing.assert_allclose(got, torch.cat([first, last]).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError):
        embedder.window_logits(video[:13], audio)


def test_audio_features_cover_the_clip_length_only():
    torch.manual_seed(0)
    model = SyncClassifier(TINY).eval()
    info = EmbedderInfo(name="synchformer", sample_rate=16000, checkpoint=None, sha256="0" * 64, version=1)
    embedder = SynchformerEmbedder(model, info, clip_frames=40, device="cpu")  # 1.6 s -> 4 segments
    audio = torch.randn(16000 * 3)
    features = embedder.embed(audio)["sync_audio"]
    assert features.shape == (segments_in(40), 6, 32)
    changed = audio.clone()
    changed[40 * 640 :] = 0  # beyond the clip: no effect
    np.testing.assert_array_equal(embedder.embed(changed)["sync_audio"], features)
    assert embedder.embed(torch.randn(9000))["sync_audio"].shape == (0, 6, 32)


def _near(x: Fraction) -> int:
    """Nearest integer, halves up (ffmpeg's rounding of timestamps)."""
    return int(x + Fraction(1, 2)) if x >= 0 else -int(-x + Fraction(1, 2))


def test_frames_at_25_fps_by_timestamp(tmp_path):
    """A 30 fps numbered video: output frame k is the last source frame i with near(i / 30 * 25) <= k."""
    path = encode_video(tmp_path / "v.mkv", numbered_frames(30, 32, 48), 30)
    frames = read_sync_frames(path, max_frames=100, size=32)
    expected = [max(i for i in range(30) if _near(Fraction(i * 25, 30)) <= k) for k in range(25)]
    assert frames.shape == (25, 3, 32, 32)
    assert frame_numbers(frames) == expected
    assert frame_numbers(read_sync_frames(path, max_frames=10, size=32)) == expected[:10]


def test_frames_hold_at_lower_source_rates(tmp_path):
    path = encode_video(tmp_path / "v.mkv", numbered_frames(10, 32, 32), Fraction(10))
    frames = read_sync_frames(path, max_frames=100, size=32)
    # 1 s of video -> 25 frames, the last source frame held for its own 0.1 s
    assert frame_numbers(frames) == [
        max(i for i in range(10) if _near(Fraction(i * 5, 2)) <= k) for k in range(25)
    ]


def test_short_side_resize_and_centre_crop():
    frame = torch.zeros(3, 48, 96, dtype=torch.uint8)
    frame[:, :, 36:60] = 200  # a band around the centre of the width
    out = resize_short_side_and_crop(frame, 24)  # -> 24 x 48, crop columns 12..36
    assert out.shape == (3, 24, 24) and out.dtype == torch.uint8
    assert out[:, :, 8:16].float().mean() > 190 and out[:, :, :4].float().mean() < 10
    tall = resize_short_side_and_crop(torch.full((3, 90, 30), 77, dtype=torch.uint8), 24)
    assert tall.shape == (3, 24, 24) and int(tall.float().mean().round()) == 77
