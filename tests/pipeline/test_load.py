"""Model folders: save -> load round trip, and clear errors for missing files or mismatched checkpoints."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from audiox.errors import CheckpointError, ConfigError, InputError
from audiox.pipeline import AudioX


@pytest.mark.parametrize("cfg_scale", [None, 1.0])  # None: the model's default (7, a batch of 2); 1: batch 1
def test_round_trip_generates_identically(dit_pipe, tiny_model_dir, bitwise_runs, cfg_scale):
    loaded = AudioX.from_pretrained(tiny_model_dir)
    # weights read from the file sit in aligned memory like the built model's (else batch-1 matmuls differ)
    assert all(p.data_ptr() % 64 == 0 for p in loaded.model.parameters())
    a = dit_pipe.generate("bell", duration_s=1.5, steps=2, seed=4, cfg_scale=cfg_scale).audio
    b = loaded.generate("bell", duration_s=1.5, steps=2, seed=4, cfg_scale=cfg_scale).audio
    assert torch.equal(a, b)


def test_missing_folder_and_weights(tmp_path, tiny_model_dir):
    with pytest.raises(CheckpointError, match="model folder not found"):
        AudioX.from_pretrained(tmp_path / "nope")
    folder = tmp_path / "no_weights"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no model weights; expected one of model.safetensors"):
        AudioX.from_pretrained(folder)


def test_checkpoint_that_does_not_match_its_config(tmp_path, tiny_model_dir):
    folder = tmp_path / "mismatch"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["model"]["diffusion"]["config"]["depth"] = 3
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError) as info:
        AudioX.from_pretrained(folder)
    message = str(info.value)
    assert "missing" in message and "config" in message and "\n" not in message


def test_unknown_config_field_names_the_file(tmp_path, tiny_model_dir):
    folder = tmp_path / "bad_config"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["model"]["diffusion"]["config"]["depht"] = 2
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="config.json: model.diffusion.config.depht: unknown field"):
        AudioX.from_pretrained(folder)


def test_video_shorter_than_the_span(dit_pipe, media):
    with pytest.raises(InputError, match="video is 4.00 s long"):
        dit_pipe.generate(video=media["video"], duration_s=8.0, steps=1)


def test_clip_tower_filled_from_the_clip_release_when_the_checkpoint_lacks_it(
    tmp_path, monkeypatch, dit_pipe, tiny_model_dir, bitwise_runs
):
    """Turbo checkpoints may omit the frozen CLIP tower: it then comes from clip-vit-base-patch32/ (or the cache)."""
    from safetensors.torch import load_file, save_file

    for var in ("HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE"):
        monkeypatch.setenv(var, str(tmp_path / "empty_hf_cache"))
    folder = tmp_path / "no_clip"
    shutil.copytree(tiny_model_dir, folder)
    state = load_file(folder / "model.safetensors")
    prefix = "conditioner.conditioners.video_prompt.visual_encoder_model."
    tower = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    save_file({k: v for k, v in state.items() if not k.startswith(prefix)}, folder / "model.safetensors")
    clip = folder / "clip-vit-base-patch32"
    clip.mkdir()
    (clip / "config.json").write_text("{}")
    save_file({**tower, "text_model.embeddings.token_embedding.weight": torch.zeros(4, 2)}, clip / "model.safetensors")
    loaded = AudioX.from_pretrained(folder)
    a = dit_pipe.generate("bell", duration_s=1.0, steps=1, seed=2).audio
    assert torch.equal(loaded.generate("bell", duration_s=1.0, steps=1, seed=2).audio, a)
    shutil.rmtree(clip)
    with pytest.raises(CheckpointError, match="CLIP"):
        AudioX.from_pretrained(folder)


def test_model_folder_sets_its_own_generation_defaults(tmp_path, tiny_model_dir):
    folder = tmp_path / "with_defaults"
    shutil.copytree(tiny_model_dir, folder)
    options = json.loads((folder / "audiox.json").read_text())
    options["generation_defaults"] = {"sampler": "euler", "steps": 3, "cfg_scale": 2.0}
    (folder / "audiox.json").write_text(json.dumps(options))
    out = AudioX.from_pretrained(folder).generate("bell", duration_s=1.0)
    assert (out.request.sampler, out.request.steps, out.request.cfg_scale) == ("euler", 3, 2.0)

