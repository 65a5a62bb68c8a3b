"""`audiox generate` on short media and on stills given as --video; --loudness output levels."""

from __future__ import annotations

import pytest
import soundfile as sf
import torch

from audiox.cli.main import main
from audiox.media.video import video_duration_s

FAST = ["--steps", "1", "--quiet"]


def test_a_short_video_gives_a_clip_of_its_length(tiny_model_dir, media, tmp_path):
    assert main(["generate", "--video", str(media["video"]), "--model", str(tiny_model_dir), "--out-dir",
                 str(tmp_path), *FAST]) == 0
    assert sf.info(tmp_path / "clip_v2a.wav").frames == 4 * 2048
    assert abs(video_duration_s(tmp_path / "clip_v2a.mp4") - 4.0) < 0.2


def test_a_still_given_as_video_is_image_to_audio(tiny_model_dir, media, tmp_path, capsys):
    assert main(["generate", "--video", str(media["image"]), "--model", str(tiny_model_dir), "--out-dir",
                 str(tmp_path), "--duration", "1", *FAST]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["still_i2a.wav"]  # no video muxed into a picture


def test_continuation_writes_the_prompt_and_new_only_drops_it(tiny_model_dir, media, tmp_path):
    common = ["piano", "--audio", str(media["audio"]), "--model", str(tiny_model_dir), "--duration", "2", *FAST]
    assert main(["generate", *common, "-o", str(tmp_path / "full.wav")]) == 0
    assert main(["generate", *common, "-o", str(tmp_path / "new.wav"), "--new-only"]) == 0
    assert sf.info(tmp_path / "full.wav").frames == 8 * 2048 and sf.info(tmp_path / "new.wav").frames == 2 * 2048


def test_init_audio_variation_writes_a_var_file(tiny_model_dir, media, tmp_path):
    assert main(["generate", "rain", "--init-audio", str(media["audio"]), "--init-strength", "0.3",
                 "--model", str(tiny_model_dir), "--out-dir", str(tmp_path), *FAST]) == 0
    assert sf.info(tmp_path / "take_t2a_var.wav").frames == 6 * 2048


@pytest.mark.parametrize("target", [-14.0, -23.0])
def test_loudness_reaches_the_target(tiny_model_dir, tmp_path, target):
    pytest.importorskip("pyloudnorm")  # the optional extra audiox[loudness]
    from audiox.media.loudness import integrated_loudness  # pyloudnorm's meter (48 kHz below 8 kHz)

    out = tmp_path / "l.wav"
    assert main(["generate", "rain", "--loudness", str(target), "--model", str(tiny_model_dir), "--duration", "3",
                 "--float", "-o", str(out), *FAST]) == 0
    audio, rate = sf.read(out, dtype="float32")
    measured = integrated_loudness(torch.from_numpy(audio.T.copy()), rate)
    peak_limited = abs(audio).max() > 0.999
    assert abs(measured - target) < 0.1 or (peak_limited and measured < target)
