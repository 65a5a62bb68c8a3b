from fractions import Fraction

import av
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from audiox.errors import InputError, MediaError
from audiox.media.audio import read_audio
from audiox.media.video import (
    frame_grid,
    mux_audio_into_video,
    pad_frames,
    read_video,
    read_video_prompt,
    resize_frames,
    video_duration_s,
)
from tests.media.factory import (
    encode_image,
    encode_sound,
    encode_video,
    frame_numbers,
    numbered_frames,
    tone,
    write_sound,
)


@pytest.fixture
def numbered_mkv(tmp_path):
    """Lossless 10 fps, 3 s video (30 frames, 32x24); frame i is gray 8 * i."""
    return encode_video(tmp_path / "numbered.mkv", numbered_frames(30, 24, 32), 10)


def test_official_frame_grid(numbered_mkv):
    frames = read_video(numbered_mkv, fps=5, start_s=0.5, duration_s=2.0)
    assert frames.shape == (10, 3, 224, 224) and frames.dtype == torch.uint8
    assert frame_numbers(frames) == list(range(5, 25, 2))  # start floor(0.5*10), interval ceil(10/5)


def test_padding_repeats_last_frame(numbered_mkv):
    frames = read_video(numbered_mkv, fps=5, start_s=1.0, duration_s=3.0)
    assert frames.shape[0] == 15
    assert frame_numbers(frames) == list(range(10, 30, 2)) + [28] * 5
    assert torch.equal(frames[-1], frames[9])


def test_require_full_span(numbered_mkv):
    read_video(numbered_mkv, fps=5, start_s=1.0, duration_s=2.0, require_full_span=True)
    with pytest.raises(MediaError, match="numbered.mkv.*shorter than the requested span"):
        read_video(numbered_mkv, fps=5, start_s=1.0, duration_s=3.0, require_full_span=True)


def test_start_after_end_is_media_error(numbered_mkv):
    with pytest.raises(MediaError, match="numbered.mkv.*3.00 s long.*smaller start"):
        read_video(numbered_mkv, fps=5, start_s=4.0, duration_s=1.0)


def test_quirk_sync_grid_uses_ceil_interval(tmp_path):
    assert frame_grid(30, 25, 0.0, 5) == range(0, 10, 2)  # 15 fps effective
    assert frame_grid(29.97, 5, 1.0, 3) == range(29, 47, 6)
    assert frame_grid(25, 25, 0.2, 3) == range(5, 8, 1)
    path = encode_video(tmp_path / "v30.mkv", numbered_frames(30, 16, 16), 30)
    frames = read_video(path, fps=25, duration_s=1.0, size=16)
    assert frame_numbers(frames) == list(range(0, 30, 2)) + [28] * 10


def test_resize_squashes_with_antialias(tmp_path):
    rgb = np.zeros((24, 64, 3), np.uint8)
    rgb[:, :32, 0] = 255  # left half red
    rgb[:, 32:, 2] = 255  # right half blue
    path = encode_video(tmp_path / "wide.mkv", [rgb] * 4, 4)
    frames = read_video(path, fps=4, duration_s=1.0, size=48)
    assert frames.shape == (4, 3, 48, 48)
    ref = (
        F.interpolate(
            torch.from_numpy(rgb).permute(2, 0, 1)[None].float(),
            size=(48, 48),
            mode="bilinear",
            align_corners=False,
            antialias=True,
        )
        .round()
        .to(torch.uint8)
    )
    assert torch.equal(frames[0], ref[0])
    assert frames[0, 0, :, :20].min() == 255 and frames[0, 2, :, 28:].min() == 255  # squashed, not cropped


def test_resize_and_pad_helpers():
    x = torch.randint(0, 256, (2, 3, 224, 224), dtype=torch.uint8)
    assert resize_frames(x, 224) is x
    assert resize_frames(x.float(), 100).dtype == torch.float32
    assert torch.equal(pad_frames(x, 1), x[:1])
    assert torch.equal(pad_frames(x, 4)[2:], x[1:].expand(2, -1, -1, -1))


def test_lossy_mp4_with_seek_free_counting(tmp_path):
    path = encode_video(
        tmp_path / "clip.mp4", numbered_frames(25, 32, 32), 25, codec="mpeg4", pix_fmt="yuv420p"
    )
    frames = read_video(path, fps=5, start_s=0.4, duration_s=1.0)
    assert frames.shape == (5, 3, 224, 224)
    assert frame_numbers(frames) == [10, 15, 20, 20, 20]  # range(10, min(35, 25), 5), padded
    assert video_duration_s(path) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".webp"])
def test_still_image_becomes_still_video(tmp_path, suffix):
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[..., 1] = 200
    path = encode_image(tmp_path / f"still{suffix}", rgb)
    frames = read_video(path, fps=5, duration_s=2.0)
    assert frames.shape == (10, 3, 224, 224) and frames.dtype == torch.uint8
    assert torch.equal(frames, frames[:1].expand(10, -1, -1, -1))
    assert abs(float(frames[:, 1].float().mean()) - 200) < 4 and float(frames[:, 0].float().mean()) < 4


def test_quirk_image_prompt_scaled_to_unit_range(tmp_path):
    rgb = np.full((8, 8, 3), 255, np.uint8)
    path = encode_image(tmp_path / "white.png", rgb)
    official = read_video_prompt(path, fps=5, duration_s=1.0, size=16)
    assert official.dtype == torch.float32 and official.shape == (5, 3, 16, 16)
    assert torch.allclose(official, torch.ones(()))  # the conditioner's /255 then gives 1/255
    fixed = read_video_prompt(path, fps=5, duration_s=1.0, size=16, official_image_scaling=False)
    assert fixed.dtype == torch.uint8 and int(fixed.min()) == 255


def test_video_prompt_of_a_video_is_uint8(numbered_mkv):
    frames = read_video_prompt(numbered_mkv, fps=5, duration_s=1.0)
    assert torch.equal(frames, read_video(numbered_mkv, fps=5, duration_s=1.0))


def test_video_duration(numbered_mkv, tmp_path):
    assert video_duration_s(numbered_mkv) == pytest.approx(3.0, abs=0.11)
    with pytest.raises(MediaError, match="still image"):
        video_duration_s(encode_image(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8)))


def test_mux_cuts_span_and_replaces_sound(tmp_path):
    src = encode_video(
        tmp_path / "in.mp4",
        numbered_frames(30, 24, 32),
        10,
        codec="mpeg4",
        pix_fmt="yuv420p",
        audio=(tone(300, 16000, 48000), 16000),
    )
    audio = torch.from_numpy(tone(1000, 22050, 22050 * 3, channels=2))
    out = mux_audio_into_video(src, audio, 22050, tmp_path / "out.mp4", start_s=0.5, duration_s=2.0)
    with av.open(str(out)) as container:
        assert len(container.streams.video) == 1 and len(container.streams.audio) == 1
        a = container.streams.audio[0]
        assert a.codec_context.name == "aac" and a.rate == 22050 and a.channels == 2
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 20
    assert [round(f.mean() / 8) for f in frames[:3]] == [5, 6, 7]
    sound, sr = read_audio(out)
    assert sr == 22050 and abs(sound.shape[1] - 44100) <= 2048
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4"]


def test_mux_errors_leave_no_file(tmp_path, numbered_mkv):
    audio = torch.zeros(2, 8000)
    for bad, error in [(torch.zeros(3, 10), InputError), (torch.zeros(10), InputError)]:
        with pytest.raises(error):
            mux_audio_into_video(numbered_mkv, bad, 8000, tmp_path / "o.mp4", 0.0, 1.0)
    with pytest.raises(InputError, match="use .mp4"):
        mux_audio_into_video(numbered_mkv, audio, 8000, tmp_path / "o.avi", 0.0, 1.0)
    with pytest.raises(MediaError, match="smaller start"):
        mux_audio_into_video(numbered_mkv, audio, 8000, tmp_path / "o.mkv", 5.0, 1.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["numbered.mkv"]


def _corrupt(path):
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    return path


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda d: d / "nope.mp4", "file not found"),
        (lambda d: (d / "empty.mp4").touch() or d / "empty.mp4", "empty"),
        (lambda d: _corrupt(d / "bad.mp4"), "cannot open"),
        (lambda d: _corrupt(d / "bad.png"), "not a readable PNG"),  # the header is read before any decoder
        (lambda d: write_sound(d / "sound.wav", tone(440, 8000, 800), 8000), "has no video stream"),
        (lambda d: encode_sound(d / "sound.m4a", tone(440, 8000, 800), 8000, "aac"), "has no video stream"),
    ],
)
def test_bad_video_files(tmp_path, make, needle):
    path = make(tmp_path)
    with pytest.raises(MediaError) as info:
        read_video(path, fps=5, duration_s=1.0)
    message = str(info.value)
    assert needle in message and str(path) in message and "\n" not in message and ";" in message


def test_bad_span_arguments(numbered_mkv):
    for kwargs in (
        {"fps": 0, "duration_s": 1.0},
        {"fps": 5, "duration_s": 0.0},
        {"fps": 5, "duration_s": 1.0, "start_s": -1.0},
        {"fps": 5, "duration_s": 0.01},
    ):
        with pytest.raises(InputError):
            read_video(numbered_mkv, **kwargs)


def test_fractional_source_rate(tmp_path):
    path = encode_video(tmp_path / "ntsc.mkv", numbered_frames(30, 16, 16), Fraction(30000, 1001))
    frames = read_video(path, fps=5, duration_s=1.0, size=16)
    assert frame_numbers(frames) == [0, 6, 12, 18, 24]
