"""`audiox generate` never destroys a file: inputs are never outputs, no clashes, no silent overwrites."""

from __future__ import annotations

import json
import os
import stat

import pytest
import soundfile as sf

from audiox.cli.main import main
from audiox.cli.outputs import plan_outputs, task_tag
from audiox.errors import InputError
from audiox.pipeline import GenerationRequest

FAST = ["--duration", "1", "--steps", "1"]


def _hash(path):
    return path.read_bytes()


def test_continuation_without_output_keeps_the_input(tiny_model_dir, media, tmp_path, monkeypatch):
    """The README's continuation command (no -o) once overwrote intro.wav."""
    intro = tmp_path / "intro.wav"
    intro.write_bytes(media["audio"].read_bytes())
    before = _hash(intro)
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "upbeat guitar", "--audio", "intro.wav", "--task", "music",
                 "--model", str(tiny_model_dir), *FAST, "--quiet"]) == 0
    assert _hash(intro) == before
    assert sf.info(tmp_path / "intro_cont.wav").frames > 0


def test_explicit_output_equal_to_the_input_is_refused(tiny_model_dir, media, tmp_path, capsys):
    take = tmp_path / "take.wav"
    take.write_bytes(media["audio"].read_bytes())
    before = _hash(take)
    code = main(["generate", "--audio", str(take), "--inpaint", "0.2", "0.5", "-o", str(take),
                 "--model", str(tiny_model_dir), *FAST, "--overwrite", "--quiet"])
    assert code == 2 and _hash(take) == before
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "input" in err and "take.wav" in err


def test_existing_output_needs_overwrite(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "out.wav"
    out.write_bytes(b"precious")
    args = ["generate", "a bell", "-o", str(out), "--model", str(tiny_model_dir), *FAST, "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "exists" in err and "--overwrite" in err and out.read_bytes() == b"precious"
    assert main([*args, "--overwrite"]) == 0
    assert sf.info(out).frames > 0


def test_video_tasks_get_their_own_default_names(tiny_model_dir, media, tmp_path, capsys):
    common = ["--video", str(media["video"]), "--model", str(tiny_model_dir), *FAST, "--out-dir", str(tmp_path),
              "--quiet"]
    assert main(["generate", *common]) == 0
    assert main(["generate", *common, "--task", "music"]) == 0
    assert main(["generate", *common]) == 0  # again: a counter, not a replacement
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["clip_v2a.mp4", "clip_v2a.wav", "clip_v2a_2.mp4", "clip_v2a_2.wav", "clip_v2m.mp4",
                     "clip_v2m.wav"]
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 6 and all("(seed " in line for line in printed)


def test_batch_of_same_stem_media_writes_distinct_files(tiny_model_dir, media, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "clip.mkv").write_bytes(media["video"].read_bytes())
    (folder / "clip.png").write_bytes(media["image"].read_bytes())
    assert main(["generate", "--batch", str(folder), "--model", str(tiny_model_dir), *FAST,
                 "--out-dir", str(tmp_path / "out"), "--no-mux", "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clip_i2a.wav", "clip_v2a.wav"]


def test_prompts_that_slug_alike_do_not_overwrite_each_other(tiny_model_dir, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("A bell!\na bell\n")
    assert main(["generate", "--batch", str(prompts), "--model", str(tiny_model_dir), *FAST,
                 "--out-dir", str(tmp_path / "out"), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_bell_t2a.wav", "a_bell_t2a_2.wav"]


def test_seed_is_drawn_printed_and_stored(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "x.wav"
    assert main(["generate", "a bell", "-o", str(out), "--model", str(tiny_model_dir), *FAST, "--quiet"]) == 0
    line = capsys.readouterr().out.strip()
    seed = int(line.split("(seed ")[1].rstrip(")"))
    stored = json.loads(sf.SoundFile(out).comment)
    assert stored["seed"] == seed and stored["text"] == "a bell" and stored["duration_s"] == 1.0
    again = tmp_path / "y.wav"
    assert main(["generate", "a bell", "-o", str(again), "--seed", str(seed), "--model", str(tiny_model_dir),
                 *FAST, "--quiet"]) == 0
    assert sf.read(out)[0].tolist() == sf.read(again)[0].tolist()


@pytest.mark.parametrize("seed", ["0", str(2**64 - 1), "0x10"])
def test_any_64_bit_seed_is_accepted(tiny_model_dir, tmp_path, seed):
    assert main(["generate", "a bell", "-o", str(tmp_path / "s.wav"), "--seed", seed,
                 "--model", str(tiny_model_dir), "--duration", "12", "--steps", "1", "--quiet"]) == 0


@pytest.mark.parametrize("seed", ["-1", str(2**64), "1.5", "abc"])
def test_out_of_range_seed_is_one_clear_line(seed, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "a bell", "--seed", seed])
    assert exit_info.value.code == 2
    assert "seed must be an integer from 0 to 2**64 - 1" in capsys.readouterr().err


def test_written_files_get_normal_permissions(tiny_model_dir, tmp_path):
    out = tmp_path / "p.wav"
    old = os.umask(0o022)
    try:
        assert main(["generate", "a bell", "-o", str(out), "--model", str(tiny_model_dir), *FAST, "--quiet"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


@pytest.mark.parametrize("suffix", [".flac", ".ogg"])
def test_flac_and_ogg_outputs(tiny_model_dir, tmp_path, suffix):
    out = tmp_path / f"o{suffix}"
    assert main(["generate", "a bell", "-o", str(out), "--model", str(tiny_model_dir), *FAST, "--quiet"]) == 0
    assert sf.info(out).samplerate == 2048


def test_plan_checks_come_before_any_work(tmp_path):
    """Bad formats and folders are refused by the planner alone (no model is loaded)."""
    job = [("x", GenerationRequest(text="a"))]
    blocker = tmp_path / "file"
    blocker.write_text("")
    cases = [
        ({"output": tmp_path / "o.mp3"}, "cannot write .mp3"),
        ({"output": tmp_path / "o.flac", "float_samples": True}, "only .wav"),
        ({"output": blocker / "o.wav"}, "is a file"),
        ({"output": None, "out_dir": blocker / "sub"}, "is a file"),
        ({"output": tmp_path}, "is a folder"),
    ]
    for kwargs, message in cases:
        kwargs = {"out_dir": tmp_path, "overwrite": False, "mux": True, **kwargs}
        with pytest.raises(InputError, match=message):
            plan_outputs(job, **kwargs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_task_tags():
    r = GenerationRequest
    assert task_tag(r(text="a")) == "t2a"
    assert task_tag(r(text="a", task="music")) == "t2m"
    assert task_tag(r(video="v.mp4")) == "v2a"
    assert task_tag(r(video="v.mp4", text="x", task="music")) == "tv2m"
    assert task_tag(r(image="i.png")) == "i2a"
    assert task_tag(r(audio="a.wav", inpaint=(0.0, 1.0))) == "inpaint"
    assert task_tag(r(audio="a.wav")) == "cont"
