"""Strict loading: success, one-line mismatch reports with hints, no partial loads, VAE files."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from audiox.checkpoints.keys import to_internal
from audiox.checkpoints.load import load_checkpoint_into, load_into, load_vae_checkpoint
from audiox.errors import CheckpointError

from .tiny import TinyModel, TinyPretransform, official_state_dict


def _snapshot(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_strict_load_copies_every_tensor():
    model = TinyModel()
    official = official_state_dict(model)
    load_into(model, to_internal(official), config_name="tiny.json", source="model.ckpt")
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in to_internal(official).items())


def test_mismatch_report_counts_keys_and_names_config():
    model = TinyModel()
    sd = to_internal(official_state_dict(model))
    del sd["maf_block.weight"], sd["maf_block.bias"]
    sd["backbone.extra.weight"] = torch.zeros(1)
    sd["backbone.preprocess_conv.weight"] = torch.zeros(4, 4, 3)
    with pytest.raises(CheckpointError) as info:
        load_into(model, sd, config_name="tiny.json", source="model.ckpt")
    message = str(info.value)
    assert message.startswith("model.ckpt: 2 missing, 1 unexpected, 1 shape mismatches (first 5: ")
    assert "missing maf_block.weight, maf_block.bias" in message
    assert "unexpected backbone.extra.weight" in message
    assert "backbone.preprocess_conv.weight file [4, 4, 3] vs model [4, 4, 1]" in message
    assert message.endswith("for config tiny.json") and "\n" not in message


def test_report_lists_at_most_five_keys_per_kind():
    model = TinyModel()
    sd = to_internal(official_state_dict(model)) | {f"junk.{i}": torch.zeros(1) for i in range(9)}
    with pytest.raises(
        CheckpointError, match=r"9 unexpected.*unexpected junk\.0, junk\.1, junk\.2, junk\.3, junk\.4\)"
    ):
        load_into(model, sd, config_name="c", source="f")


def test_no_partial_load_on_mismatch():
    model = TinyModel()
    before = _snapshot(model)
    sd = to_internal(official_state_dict(model))
    sd["maf_block.weight"] = torch.zeros(3, 3)  # one bad shape; everything else would fit
    with pytest.raises(CheckpointError):
        load_into(model, sd, config_name="c", source="f")
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())


@pytest.mark.parametrize(
    "file_model, config_model, hint",
    [
        ({"audio": "v1"}, {"audio": "v2"}, "the file has a v1 audio conditioner but the config builds v2"),
        ({"audio": "v2"}, {"audio": "v1"}, "the file has a v2 audio conditioner but the config builds v1"),
        (
            {"backbone": "mmdit"},
            {"backbone": "dit"},
            "the file has a mmdit backbone but the config builds dit",
        ),
        ({"backbone": "dit"}, {"backbone": "mmdit"}, "model.diffusion.type 'dit'"),
    ],
)
def test_hint_names_the_other_variant(file_model, config_model, hint):
    sd = to_internal(official_state_dict(TinyModel(**file_model)))
    with pytest.raises(CheckpointError, match="; hint: ") as info:
        load_into(TinyModel(**config_model), sd, config_name="c", source="f")
    assert hint in str(info.value)


def test_legacy_weight_norm_file_loads_into_parametrized_module():
    module = TinyPretransform(parametrized=True)
    legacy = TinyPretransform(parametrized=False).state_dict()
    load_into(module, legacy, config_name="vae", source="vae.ckpt")
    g = module.state_dict()["model.encoder.layers.0.parametrizations.weight.original0"]
    assert torch.equal(g, legacy["model.encoder.layers.0.weight_g"])


def test_clip_position_ids_tolerated_both_ways():
    model = torch.nn.Module()
    model.embeddings = torch.nn.Module()
    model.embeddings.proj = torch.nn.Linear(2, 2)
    model.embeddings.register_buffer("position_ids", torch.arange(3)[None], persistent=True)
    weights = {"embeddings.proj.weight": torch.ones(2, 2), "embeddings.proj.bias": torch.ones(2)}
    load_into(model, weights, config_name="c", source="f")  # file without the buffer
    del model.embeddings.position_ids
    load_into(
        model, weights | {"embeddings.position_ids": torch.arange(3)[None]}, config_name="c", source="f"
    )


def test_meta_module_gets_tensors_assigned_in_its_dtype():
    with torch.device("meta"):
        model = TinyModel()
    sd = {k: v.half() for k, v in to_internal(official_state_dict(TinyModel())).items()}
    load_into(model, sd, config_name="c", source="f")
    params = model.state_dict()
    assert not any(p.is_meta for p in params.values())
    assert params["maf_block.weight"].dtype == torch.float32


def test_load_checkpoint_into_reads_maps_and_loads(tmp_path):
    model = TinyModel()
    official = official_state_dict(model)
    path = tmp_path / "model.safetensors"
    save_file({"module." + k: v for k, v in official.items()}, str(path), metadata={"config": "{}"})
    assert load_checkpoint_into(model, path, config_name="tiny.json") == {"config": "{}"}
    assert torch.equal(
        model.state_dict()["backbone.preprocess_conv.weight"], official["model.model.preprocess_conv.weight"]
    )


def test_vae_checkpoint_loads_autoencoder_keys_into_model(tmp_path):
    source = TinyPretransform()
    vae_keys = {k.removeprefix("model."): v for k, v in source.state_dict().items()}
    assert all(k.startswith(("encoder.", "decoder.")) for k in vae_keys)
    path = tmp_path / "vae.ckpt"
    torch.save({"state_dict": vae_keys}, path)
    target = TinyPretransform()
    load_vae_checkpoint(target, path)
    assert all(torch.equal(target.state_dict()[k], v) for k, v in source.state_dict().items())


def test_vae_checkpoint_mismatch_is_reported(tmp_path):
    path = tmp_path / "vae.ckpt"
    torch.save({"state_dict": {"encoder.layers.0.bias": torch.zeros(4)}}, path)
    with pytest.raises(CheckpointError, match=r"vae.ckpt: 4 missing, 0 unexpected, 0 shape mismatches"):
        load_vae_checkpoint(TinyPretransform(), path, config_name="vae_config.json")
