"""`audiox convert` through the real console entry point."""

from __future__ import annotations

import json
import subprocess
import sys

import torch

from audiox.checkpoints.read import read_checkpoint

from .test_convert import CONFIG
from .tiny import TinyModel, official_state_dict


def _audiox(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "audiox.cli.main", *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def test_convert_writes_the_output_file(tmp_path):
    official = official_state_dict(TinyModel())
    src, dst, config = tmp_path / "model.ckpt", tmp_path / "out.safetensors", tmp_path / "config.json"
    torch.save({"state_dict": official}, src)
    config.write_text(json.dumps(CONFIG))
    proc = _audiox("convert", src, "-o", dst, "--config", config, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {dst} ({len(official)} tensors, with config)" in proc.stdout
    state_dict, metadata = read_checkpoint(dst)
    assert set(state_dict) == set(official) and json.loads(metadata["config"]) == CONFIG


def test_default_output_name_and_quiet(tmp_path):
    src = tmp_path / "model.ckpt"
    torch.save(official_state_dict(TinyModel()), src)
    proc = _audiox("--quiet", "convert", src, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == ""
    assert (tmp_path / "model.safetensors").is_file()


def test_bad_path_gives_one_stderr_line_and_nonzero_exit(tmp_path):
    proc = _audiox("convert", tmp_path / "nope.ckpt", "-o", tmp_path / "x.safetensors", cwd=tmp_path)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope.ckpt" in lines[0] and lines[0].startswith("CheckpointError: ")
    assert not (tmp_path / "x.safetensors").exists()
