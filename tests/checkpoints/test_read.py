"""Reading weight files: safetensors, safe pickles, refusals, official containers."""

from __future__ import annotations

import collections

import pytest
import torch
from safetensors.torch import save_file

from audiox.checkpoints.read import read_checkpoint, read_safetensors, unwrap_state_dict
from audiox.errors import CheckpointError


class NotATensor:
    """A custom class: unpickling it would need code execution."""

    def __init__(self) -> None:
        self.value = 1


def _weights() -> dict[str, torch.Tensor]:
    return {"model.model.preprocess_conv.weight": torch.randn(4, 4, 1), "maf_block.bias": torch.randn(6)}


def test_pickle_with_only_tensors_loads(tmp_path):
    weights = _weights()
    path = tmp_path / "model.ckpt"
    torch.save({"state_dict": collections.OrderedDict(weights), "epoch": 3, "model_config": {"a": [1]}}, path)
    state_dict, metadata = read_checkpoint(path)
    assert state_dict.keys() == weights.keys()
    assert all(torch.equal(state_dict[k], weights[k]) for k in weights)
    assert metadata == {"config": '{"a": [1]}'}


def test_pickle_needing_code_is_refused_with_convert_advice(tmp_path):
    path = tmp_path / "unsafe.ckpt"
    torch.save({"state_dict": _weights(), "extra": NotATensor()}, path)
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    message = str(info.value)
    assert "unsafe.ckpt" in message and "audiox convert" in message and "NotATensor" in message
    assert "\n" not in message


def test_trusted_pickle_loads_when_asked(tmp_path):
    path = tmp_path / "unsafe.ckpt"
    torch.save({"state_dict": _weights(), "extra": NotATensor()}, path)
    state_dict, _ = read_checkpoint(path, trust_pickle=True)
    assert state_dict.keys() == _weights().keys()


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", b"PK\x03\x04broken zip"])
def test_corrupt_file_is_a_checkpoint_error(tmp_path, content):
    path = tmp_path / "broken.ckpt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="broken.ckpt"):
        read_checkpoint(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="nowhere.ckpt: checkpoint file not found"):
        read_checkpoint(tmp_path / "nowhere.ckpt")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(CheckpointError, match="is a folder"):
        read_checkpoint(tmp_path)


def test_safetensors_returns_tensors_and_metadata(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file(_weights(), str(path), metadata={"config": "{}"})
    state_dict, metadata = read_safetensors(path)
    assert state_dict.keys() == _weights().keys() and metadata["config"] == "{}"


def test_safetensors_recognised_without_suffix(tmp_path):
    path = tmp_path / "weights.bin"
    save_file(_weights(), str(path))
    state_dict, metadata = read_checkpoint(path)
    assert state_dict.keys() == _weights().keys() and metadata == {}


def test_corrupt_safetensors(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(CheckpointError, match="bad.safetensors: not a readable safetensors file"):
        read_checkpoint(path)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda sd: sd,  # Turbo raw dict
        lambda sd: {"state_dict": sd, "global_step": 7},  # official model.ckpt / Lightning
        lambda sd: {"model": sd, "optimizer": {"lr": 1.0}},  # Turbo
        lambda sd: {"student": sd},  # Turbo
        lambda sd: {"student_state_dict": sd},  # Turbo
        lambda sd: {"state_dict": "not a dict", "model": sd},  # first *dict* wins
    ],
    ids=["raw", "state_dict", "model", "student", "student_state_dict", "first_dict"],
)
def test_container_layouts_unwrap(tmp_path, wrap):
    path = tmp_path / "model.ckpt"
    torch.save(wrap(_weights()), path)
    state_dict, _ = read_checkpoint(path)
    assert state_dict.keys() == _weights().keys()


def test_state_dict_wins_over_model_key():
    inner = _weights()
    assert unwrap_state_dict({"model": {"x": torch.ones(1)}, "state_dict": inner}, source="f") == inner


@pytest.mark.parametrize(
    "obj, message",
    [
        ([torch.ones(1)], "holds a list"),
        ({"epoch": 3, "weights": torch.ones(1)}, "no state dict found"),
        ({"state_dict": {"a": torch.ones(1), "b": 3}}, "entry 'b' holds a int"),
        ({"state_dict": {}}, "empty"),
    ],
)
def test_bad_containers(obj, message):
    with pytest.raises(CheckpointError, match=message):
        unwrap_state_dict(obj, source="model.ckpt")
