"""`audiox info` on every model folder the project writes, on hub ids, and on official configs (in-process).

The parameter total printed must equal the loaded model's own count: the meta-device description is built
with the folder's encoder sizes, not the official ones.
"""

from __future__ import annotations

import re
import shutil

import pytest

from audiox.cli.main import main
from audiox.diffusion.model import parameter_counts
from audiox.pipeline.load import default_model_dir, load_pipeline, save_pipeline
from tests.checkpoints.fake_hub import add_repo

MAF = "HKUSTAudio/AudioX-MAF"


def info(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["info", *args])
    out, err = capsys.readouterr()
    return code, out, err


def total(out: str) -> int:
    return int(re.search(r"^  total\s+([\d,]+)$", out, re.MULTILINE).group(1).replace(",", ""))


def files(out: str) -> dict[str, str]:
    """{file name: state} of the files section."""
    section = out.split("files:\n", 1)[1]
    return {
        m.group(1).strip(): m.group(2)
        for m in re.finditer(r"^  (.+?)\s{2,}.*\[(\w+)\]$", section, re.MULTILINE)
    }


def test_info_without_a_model_describes_the_shipped_model(capsys):
    code, out, _ = info(capsys)
    assert code == 0 and "(the shipped model)" in out
    assert total(out) == parameter_counts(load_pipeline().model)["total"]
    assert "objective rectified_flow" in out and "text-to-audio" in out
    assert files(out)["audiox.json"] == "present" and files(out)["config.json"] == "present"


def test_info_on_a_train_export_folder(capsys, dit_pipe, tiny_model_dir):
    """`audiox train` exports with save_pipeline: config.json, model.safetensors, t5/, audiox.json."""
    code, out, _ = info(capsys, str(tiny_model_dir))
    assert code == 0
    assert total(out) == parameter_counts(dit_pipe.model)["total"]
    states = files(out)
    assert states["config.json"] == "present" and states["synchformer_state_dict.pth"] == "present"
    assert "missing" not in states.values()


@pytest.mark.slow  # builds the own model's real weights (~9 M parameters)
def test_info_on_a_train_own_folder(capsys, tmp_path):
    """`audiox train-own` writes a float16 own-model folder with its own T5 and generation defaults."""
    from types import SimpleNamespace

    from audiox.synth.own_training import _finish_folder
    from audiox.synth.training_data import build_own_model, to_storage_dtype

    model, options = build_own_model("dit", seed=1)
    save_pipeline(SimpleNamespace(model=model, synchformer=None), tmp_path / "export", options=options)
    _finish_folder(tmp_path / "export", tmp_path / "model")
    to_storage_dtype(str(tmp_path / "model"))
    code, out, _ = info(capsys, str(tmp_path / "model"))
    assert code == 0 and "backbone:     dit" in out
    assert total(out) == parameter_counts(model)["total"]


def test_info_on_a_cached_hub_id_and_its_missing_files(capsys, hf_cache, no_network, tiny_model_dir):
    add_repo(
        hf_cache,
        MAF,
        {"config.json": tiny_model_dir / "config.json", "audiox.json": tiny_model_dir / "audiox.json"},
    )
    code, out, _ = info(capsys, MAF)
    assert code == 0 and f"model:        {MAF}" in out and "snapshots" in out
    states = files(out)
    assert states["model.ckpt"] == "missing" and states["synchformer_state_dict.pth"] == "absent"
    assert (
        "fetch:        hf download HKUSTAudio/AudioX-MAF config.json model.ckpt synchformer_state_dict.pth"
        in out
    )
    assert no_network == []


def test_info_on_turbo_needs_nothing_cached(capsys, hf_cache, no_network):
    """The Turbo repo has no config: audiox's shipped copy describes it before anything is downloaded."""
    code, out, _ = info(capsys, "HKUSTAudio/AudioX-Turbo")
    assert code == 0 and "2,710,741,752" in out
    states = files(out)
    assert (
        states["audiox_turbo/audiox_turbo.ckpt"] == "missing" and states["pretransform/vae.ckpt"] == "missing"
    )
    assert "hf download HKUSTAudio/AudioX-Turbo audiox_turbo/audiox_turbo.ckpt pretransform/vae.ckpt" in out
    assert no_network == []


def test_info_on_an_uncached_hub_id_is_one_line(capsys, hf_cache, no_network):
    code, out, err = info(capsys, MAF)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "needs config.json" in err and "hf download HKUSTAudio/AudioX-MAF" in err


def test_info_on_a_config_file_and_a_bad_name(capsys, tmp_path, dit_pipe, tiny_model_dir):
    code, out, _ = info(capsys, str(tiny_model_dir / "config.json"))  # sizes from the folder it sits in
    assert code == 0 and total(out) == parameter_counts(dit_pipe.model)["total"]
    assert "[" not in out.split("files:", 1)[1]  # a config alone: no present / missing marks
    shutil.copy(default_model_dir() / "config.json", tmp_path / "config.json")
    code, _, err = info(capsys, str(tmp_path / "config.json"))  # an own model's config without its t5/
    assert code == 2 and "t5_model_name 'audiox-own-t5'" in err and len(err.strip().splitlines()) == 1
    code, _, err = info(capsys, str(tmp_path / "nowhere"))
    assert code == 2 and "model folder not found" in err and len(err.strip().splitlines()) == 1
