import numpy as np
import pytest
import soundfile as sf
import torch

from audiox.errors import InputError, MediaError
from audiox.media import audio as audio_mod
from audiox.media.audio import (
    crop_or_pad,
    fix_channels,
    peak_normalize,
    prepare_audio_prompt,
    read_audio,
    to_pcm16,
    write_audio,
)
from tests.media.factory import encode_sound, encode_video, numbered_frames, tone, write_sound


@pytest.mark.parametrize(
    "suffix,subtype,atol",
    [(".wav", "PCM_16", 1e-4), (".flac", None, 1e-4), (".wav", "FLOAT", 0.0), (".ogg", None, 0.1)],
)
def test_read_soundfile_formats(tmp_path, suffix, subtype, atol):
    src = tone(440, 16000, 8000, channels=2)
    path = write_sound(tmp_path / f"a{suffix}", src, 16000, subtype)
    audio, sr = read_audio(path)
    assert sr == 16000 and audio.dtype == torch.float32 and audio.shape == (2, 8000)
    assert np.abs(audio.numpy() - src).max() <= atol


@pytest.mark.parametrize("suffix,codec", [(".m4a", "aac"), (".mp3", "libmp3lame")])
def test_read_compressed_through_pyav(tmp_path, suffix, codec):
    path = encode_sound(tmp_path / f"a{suffix}", tone(1000, 44100, 44100, channels=2), 44100, codec)
    audio, sr = read_audio(path)
    assert sr == 44100 and audio.shape[0] == 2 and audio.dtype == torch.float32
    assert abs(audio.shape[1] - 44100) <= 3 * 1152  # encoder delay / padding frames
    spectrum = np.abs(np.fft.rfft(audio[0, 4096 : 4096 + 32768].numpy()))
    assert abs(spectrum.argmax() * 44100 / 32768 - 1000) < 5
    assert 0.4 < float(audio[0, 4096:-4096].abs().max()) < 0.6


def test_prompt_resamples_fixes_channels_and_crops(tmp_path):
    path = write_sound(tmp_path / "mono48k.wav", tone(1000, 48000, 96000, channels=1), 48000, "FLOAT")
    prompt = prepare_audio_prompt(path, 44100, 2, start_s=0.5, duration_s=1.0)
    assert prompt.shape == (2, 44100) and prompt.dtype == torch.float32
    assert torch.equal(prompt[0], prompt[1])  # mono repeated to stereo
    t = (torch.arange(44100, dtype=torch.float64) + 22050) / 44100
    ref = 0.5 * torch.sin(2 * torch.pi * 1000 * t)
    assert torch.allclose(prompt[0].double(), ref, atol=2e-3)


@pytest.mark.parametrize("pad", ["left", "right"])
def test_prompt_pads_short_audio(pad):
    x = torch.ones(2, 300)
    prompt = prepare_audio_prompt(x, 100, 2, start_s=1.0, duration_s=5.0, pad=pad)
    assert prompt.shape == (2, 500)
    ones = prompt[:, 300:] if pad == "left" else prompt[:, :200]
    assert torch.equal(ones, torch.ones(2, 200)) and float(prompt.sum()) == 400


def test_prompt_tensor_at_other_rate_and_many_channels():
    x = torch.randn(4, 4800)
    prompt = prepare_audio_prompt(x, 44100, 2, 0.0, 0.1, source_sample_rate=48000)
    assert prompt.shape == (2, 4410)
    assert torch.equal(prompt, audio_mod.resample(x, 48000, 44100)[:2])


def test_fix_channels_rules():
    x = torch.arange(12.0).reshape(3, 4)
    assert torch.equal(fix_channels(x, 2), x[:2])
    assert torch.equal(fix_channels(x[:1], 2), x[:1].repeat(2, 1))
    assert torch.equal(fix_channels(x[:2], 1), x[:2].mean(0, keepdim=True))
    with pytest.raises(InputError):
        fix_channels(x[:2], 4)


def test_crop_or_pad_exact():
    x = torch.arange(10.0)[None]
    assert torch.equal(crop_or_pad(x, 2, 3, "left"), torch.tensor([[2.0, 3, 4]]))
    assert torch.equal(crop_or_pad(x, 8, 4, "left"), torch.tensor([[0.0, 0, 8, 9]]))
    assert torch.equal(crop_or_pad(x, 8, 4, "right"), torch.tensor([[8.0, 9, 0, 0]]))
    with pytest.raises(InputError):
        crop_or_pad(x, 0, 3, "middle")


def test_prompt_start_after_end_is_media_error(tmp_path):
    path = write_sound(tmp_path / "short.wav", tone(440, 8000, 800), 8000)
    with pytest.raises(MediaError, match="short.wav.*smaller start"):
        prepare_audio_prompt(path, 8000, 1, start_s=2.0, duration_s=1.0)


def test_write_pcm16_round_trip(tmp_path):
    x = torch.tensor([[0.0, 0.5, -0.5, 1.0, -1.0, 0.25]]).repeat(2, 1) * torch.tensor([[1.0], [0.5]])
    path = write_audio(tmp_path / "out.wav", x, 22050, normalize=False)
    data, sr = sf.read(path, dtype="int16", always_2d=True)
    assert sr == 22050 and sf.info(path).subtype == "PCM_16"
    assert np.array_equal(data.T, to_pcm16(x).numpy())
    back, _ = read_audio(path)
    assert torch.allclose(back, x, atol=1 / 32767)


def test_write_float_and_flac(tmp_path):
    x = torch.randn(2, 1000) * 0.1
    path = write_audio(tmp_path / "out.wav", x, 8000, sample_format="float", normalize=False)
    assert sf.info(path).subtype == "FLOAT"
    assert torch.equal(read_audio(path)[0], x)
    flac = write_audio(tmp_path / "out.flac", x, 8000)
    back, _ = read_audio(flac)
    assert abs(float(back.abs().max()) - 32767 / 32768) < 1e-6  # peak normalised, then PCM16
    with pytest.raises(InputError, match="FLAC"):
        write_audio(tmp_path / "f.flac", x, 8000, sample_format="float")


def test_peak_normalize_like_official():
    x = torch.tensor([[0.1, -0.4], [0.2, 0.0]])
    assert torch.allclose(peak_normalize(x), x / 0.4)
    assert torch.equal(peak_normalize(torch.zeros(2, 3)), torch.zeros(2, 3))  # no NaN on silence


def test_quirk_pcm16_truncates():
    x = torch.tensor([[0.99999, -0.99999, 0.5, 2.0, -3.0]])
    assert to_pcm16(x).tolist() == [[32766, -32766, 16383, 32767, -32767]]


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "out.wav"
    target.write_bytes(b"old content")

    def failing_write(self, data):
        raise OSError("disk full")  # the header is already on disk: a partial file

    monkeypatch.setattr(audio_mod.sf.SoundFile, "write", failing_write)
    with pytest.raises(MediaError, match="cannot write .*disk full"):  # one line, not an OSError traceback
        write_audio(target, torch.zeros(1, 10), 8000)
    assert target.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


def test_write_bad_arguments(tmp_path):
    x = torch.zeros(1, 10)
    for call in (
        lambda: write_audio(tmp_path / "a.mp3", x, 8000),
        lambda: write_audio(tmp_path / "a.wav", torch.zeros(10), 8000),
        lambda: write_audio(tmp_path / "a.wav", x, 8000, sample_format="pcm8"),
    ):
        with pytest.raises(InputError):
            call()
    with pytest.raises(MediaError, match="does not exist"):
        write_audio(tmp_path / "missing" / "a.wav", x, 8000)
    assert list(tmp_path.iterdir()) == []


def _corrupt(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    return path


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda d: d / "nope.wav", "file not found"),
        (lambda d: (d / "empty.wav").touch() or d / "empty.wav", "empty"),
        (lambda d: _corrupt(d, "bad.wav"), "cannot decode"),
        (lambda d: _corrupt(d, "bad.mp3"), "cannot decode"),
        (lambda d: d, "not a file"),
        (lambda d: encode_video(d / "silent.mkv", numbered_frames(2, 8, 8), 5), "has no audio stream"),
    ],
)
def test_bad_audio_files(tmp_path, make, needle):
    path = make(tmp_path)
    with pytest.raises(MediaError) as info:
        read_audio(path)
    message = str(info.value)
    assert needle in message and str(path) in message and "\n" not in message
    assert ";" in message  # what is wrong; what to do
