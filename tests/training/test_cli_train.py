"""`audiox train` / `train-vae` / `encode-dataset` end to end in a subprocess, and their error lines."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.training.tiny_data import write_tiny_dataset


def audiox(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "audiox.cli.main", *map(str, args)], check=False,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_train_then_fine_tune_from_the_export_then_resume(tmp_path):
    manifest = write_tiny_dataset(tmp_path / "data", num_items=2)
    config = tmp_path / "train.json"
    config.write_text(json.dumps({"run": {"max_steps": 2, "batch_size": 1, "checkpoint_every_n_steps": 1},
                                  "optimizer": {"lr": 1e-3}, "demo": {"every_n_steps": 2, "num_demos": 1, "steps": 2}}))
    first = audiox("train", "--model-config", "tiny-mmdit", "--data", manifest, "--out", tmp_path / "a",
                   "--config", config, "--set", "scheduler.warmup=0")
    assert first.returncode == 0, first.stderr[-2000:]
    export = tmp_path / "a" / "export" / "final"
    assert {"config.json", "model.safetensors", "audiox.json", "t5"} <= {p.name for p in export.iterdir()}
    assert (tmp_path / "a" / "demos" / "demo_0000002_0.wav").is_file()
    assert (tmp_path / "a" / "demos" / "demo_0000002_0.png").read_bytes().startswith(b"\x89PNG")
    tuned = audiox("train", "--init", export, "--data", manifest, "--out", tmp_path / "b", "--config", config,
                   "--set", "run.max_steps=1")
    assert tuned.returncode == 0, tuned.stderr[-2000:]
    resumed = audiox("train", "--model-config", "tiny-mmdit", "--data", manifest, "--out", tmp_path / "c",
                     "--config", config, "--set", "run.max_steps=3", "--resume",
                     tmp_path / "a" / "checkpoints" / "step_0000001.ckpt")
    assert resumed.returncode == 0 and "trained 3 steps" in resumed.stdout, resumed.stderr[-2000:]


@pytest.mark.slow
def test_encode_dataset_verb(tmp_path):
    manifest = write_tiny_dataset(tmp_path / "data", num_items=2)
    done = audiox("encode-dataset", "--model-config", "tiny-dit", "--data", manifest, "--out", tmp_path / "cache")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((tmp_path / "cache" / "index.json").read_text())["num_items"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "optimizer.lrr=1"], "unknown field 'lrr'"),
        (["--set", "run.max_steps=many"], "expected int"),
        (["--set", "run.strategy=horovod"], "'horovod' is not supported"),
        (["--set", "run.max_steps"], "expected KEY=VALUE"),
    ],
)
def test_bad_settings_give_one_error_line(tmp_path, capsys, args, message):
    from audiox.cli import main as cli

    code = cli.main(["train", "--model-config", "tiny-dit", "--data", str(tmp_path / "m.jsonl"),
                     "--out", str(tmp_path / "o"), *args])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], lines


def test_missing_manifest_is_one_line_in_a_subprocess(tmp_path):
    done = audiox("train", "--model-config", "tiny-dit", "--data", tmp_path / "none.jsonl", "--out", tmp_path / "o")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "manifest not found" in lines[0], done.stderr
