"""The `audiox` command line through a subprocess: real files in, real files out, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
import soundfile as sf

from audiox.media.video import video_duration_s

pytestmark = pytest.mark.slow  # each test starts python + torch in a subprocess (~5 s)


def audiox(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "audiox.cli.main", *args], check=False, capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_generate_text_writes_16_bit_wav(tiny_model_dir, tmp_path):
    out = tmp_path / "dog.wav"
    proc = audiox("generate", "a dog barks", "--model", str(tiny_model_dir), "--duration", "2.5", "--steps", "2",
                  "-o", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (2048, 2, 5120, "PCM_16")


def test_generate_video_writes_wav_and_muxed_video(tiny_model_dir, media, tmp_path):
    proc = audiox("generate", "--video", str(media["video"]), "--model", str(tiny_model_dir), "--duration", "3",
                  "--steps", "1", "--out-dir", str(tmp_path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert sf.info(tmp_path / "clip_v2a.wav").frames == 3 * 2048
    assert abs(video_duration_s(tmp_path / "clip_v2a.mp4") - 3.0) < 0.2


def test_batch_skips_a_bad_input_and_writes_the_rest(tiny_model_dir, media, tmp_path):
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "a.mkv").write_bytes(media["video"].read_bytes())
    (folder / "broken.mp4").write_bytes(b"garbage" * 50)
    proc = audiox("generate", "--batch", str(folder), "--model", str(tiny_model_dir), "--duration", "1",
                  "--steps", "1", "--out-dir", str(tmp_path / "outs"), "--no-mux", "--quiet")
    assert proc.returncode == 1
    assert (tmp_path / "outs" / "a_v2a.wav").is_file()
    assert not (tmp_path / "outs" / "broken_v2a.wav").exists()
    assert "broken" in proc.stderr and "skipped" in proc.stderr


def test_bad_input_is_one_stderr_line(tiny_model_dir, tmp_path):
    cases = [
        ("generate", "x", "--model", str(tmp_path / "nowhere")),
        ("generate", "x", "--model", str(tiny_model_dir), "--steps", "0"),
        ("generate", "x", "--model", str(tiny_model_dir), "--sampler", "bogus", "--steps", "1"),
        ("generate", "--video", str(tmp_path / "missing.mp4"), "--model", str(tiny_model_dir)),
        ("generate",),
        ("generate", "x", "--duration", "0"),
    ]
    for args in cases:
        proc = audiox(*args, "--quiet") if args[0] != "generate" else audiox("--quiet", *args)
        assert proc.returncode != 0, args
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "Traceback" not in proc.stderr, (args, proc.stderr)


def test_info_on_an_official_config():
    proc = audiox("info", "audiox_turbo_infer_4step")
    assert proc.returncode == 0, proc.stderr
    assert "2,710,741,752" in proc.stdout and "synchformer_state_dict.pth" in proc.stdout


def test_conformance_on_one_case(refvectors):
    proc = audiox("conformance", str(refvectors / "public" / "maf_block"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "1 passed, 0 failed"
