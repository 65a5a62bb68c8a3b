"""Conversion to safetensors: canonical official keys, config in the metadata, atomic writes."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from audiox.checkpoints.convert import convert_checkpoint, standalone_tensors
from audiox.checkpoints.read import read_checkpoint
from audiox.errors import CheckpointError, ConfigError

from .tiny import TinyModel, official_state_dict

CONFIG = {
    "model_type": "diffusion_cond",
    "sample_size": 4096,
    "sample_rate": 44100,
    "model": {"io_channels": 4, "diffusion": {"type": "dit", "config": {"embed_dim": 8, "depth": 1}}},
}


class Opaque:
    """Needs code execution to unpickle."""


@pytest.fixture
def official():
    return official_state_dict(TinyModel())


def test_convert_round_trip_keeps_tensors_and_config(tmp_path, official):
    src, dst, config = tmp_path / "model.ckpt", tmp_path / "model.safetensors", tmp_path / "config.json"
    torch.save({"state_dict": official}, src)
    config.write_text(json.dumps(CONFIG))
    result = convert_checkpoint(src, dst, config)
    assert result.num_tensors == len(official) and result.has_config
    with safe_open(str(dst), framework="pt") as f:
        assert json.loads(f.metadata()["config"]) == CONFIG
    state_dict, _ = read_checkpoint(dst)
    assert set(state_dict) == set(official)
    assert all(torch.equal(state_dict[k], v) for k, v in official.items())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_convert_writes_canonical_official_keys(tmp_path, official):
    src, dst = tmp_path / "turbo.ckpt", tmp_path / "turbo.safetensors"
    torch.save({"student": {"module." + k: v for k, v in official.items()}}, src)
    result = convert_checkpoint(src, dst)
    assert not result.has_config
    assert set(read_checkpoint(dst)[0]) == set(official)


def test_convert_keeps_embedded_lightning_config(tmp_path, official):
    src, dst = tmp_path / "last.ckpt", tmp_path / "last.safetensors"
    torch.save({"state_dict": official, "model_config": CONFIG}, src)
    convert_checkpoint(src, dst)
    assert json.loads(read_checkpoint(dst)[1]["config"]) == CONFIG


def test_shared_and_non_contiguous_tensors(tmp_path):
    base = torch.randn(4, 6)
    sd = {"maf_block.a": base, "maf_block.b": base, "maf_block.c": base.t(), "maf_block.d": base[1:3]}
    src, dst = tmp_path / "m.ckpt", tmp_path / "m.safetensors"
    torch.save(sd, src)
    convert_checkpoint(src, dst)
    out, _ = read_checkpoint(dst)
    assert all(torch.equal(out[k], v) for k, v in sd.items())
    alone = standalone_tensors(sd)
    pointers = {t.untyped_storage().data_ptr() for t in alone.values()}
    assert len(pointers) == 4 and all(t.is_contiguous() for t in alone.values())


def test_untrusted_pickle_needs_trust_flag(tmp_path, official):
    src, dst = tmp_path / "odd.ckpt", tmp_path / "odd.safetensors"
    torch.save({"state_dict": official, "extra": Opaque()}, src)
    with pytest.raises(CheckpointError, match="--trust-pickle"):
        convert_checkpoint(src, dst)
    assert not dst.exists()
    convert_checkpoint(src, dst, trust_pickle=True)
    assert set(read_checkpoint(dst)[0]) == set(official)


def test_invalid_config_is_rejected_before_writing(tmp_path, official):
    src, dst, config = tmp_path / "m.ckpt", tmp_path / "m.safetensors", tmp_path / "config.json"
    torch.save(official, src)
    config.write_text(json.dumps(CONFIG | {"sample_rat": 1}))
    with pytest.raises(ConfigError, match="sample_rat"):
        convert_checkpoint(src, dst, config)
    assert not dst.exists()


@pytest.mark.parametrize(
    "dst_name, message",
    [("out.ckpt", "must end in .safetensors"), ("missing_dir/out.safetensors", "does not exist")],
)
def test_bad_destination(tmp_path, official, dst_name, message):
    src = tmp_path / "m.ckpt"
    torch.save(official, src)
    with pytest.raises(CheckpointError, match=message):
        convert_checkpoint(src, tmp_path / dst_name)


def test_refuses_to_overwrite_its_input(tmp_path, official):
    path = tmp_path / "m.safetensors"
    convert_checkpoint(_saved(tmp_path, official), path)
    with pytest.raises(CheckpointError, match="overwrite the input"):
        convert_checkpoint(path, path)


def _saved(tmp_path, sd):
    path = tmp_path / "src.ckpt"
    torch.save(sd, path)
    return path
