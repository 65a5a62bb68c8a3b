"""Fast loading (build on meta, assign, recompute buffers) gives exactly what the slow path gives."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

import audiox.pipeline.load as pipeline_load
from audiox.checkpoints.materialize import build_on_meta, build_then_load, check_no_meta
from audiox.conditioning.tiny_encoders import tiny_conditioner_options
from audiox.errors import CheckpointError
from audiox.pipeline import GenerationRequest
from audiox.pipeline.load import load_pipeline, save_pipeline
from tests.tiny_pipelines import SYNCHFORMER_SIZES, tiny_pipeline

REQUEST = {"duration_s": 1.0, "seed": 5, "steps": 2}


@pytest.fixture(scope="module", params=["dit", "mmdit"])
def saved(request, tmp_path_factory):
    """(original pipeline, its saved folder) for each backbone family."""
    pipe = tiny_pipeline(request.param)
    options = tiny_conditioner_options()
    folder = save_pipeline(
        pipe,
        tmp_path_factory.mktemp(f"tiny_{request.param}"),
        options={
            "vision_config": options["vision_config"].to_dict(),
            "temporal_sizes": options["temporal_sizes"],
            "text_encoder_dtype": "float32",
            "synchformer": SYNCHFORMER_SIZES,
        },
    )
    return pipe, folder


def slow_load(folder, monkeypatch):
    """The former path: the model built on the CPU with random init, then copied into."""
    with monkeypatch.context() as m:
        m.setattr(pipeline_load, "build_on_meta", lambda build: build())
        return load_pipeline(folder)


def test_fast_load_generates_bit_identical_audio_to_slow_load(saved, monkeypatch):
    pipe, folder = saved
    fast, slow = load_pipeline(folder), slow_load(folder, monkeypatch)
    request = GenerationRequest(text="a dog barks", **REQUEST)
    audio = fast(request).audio
    assert torch.equal(audio, slow(request).audio)
    assert torch.equal(audio, pipe(request).audio)


def test_fast_load_has_the_slow_state_and_buffers(saved, monkeypatch):
    _, folder = saved
    fast, slow = load_pipeline(folder).model, slow_load(folder, monkeypatch).model
    fast_tensors = dict(fast.named_parameters()) | dict(fast.named_buffers())
    slow_tensors = dict(slow.named_parameters()) | dict(slow.named_buffers())
    assert fast_tensors.keys() == slow_tensors.keys()
    for name, value in slow_tensors.items():
        assert torch.equal(fast_tensors[name], value), name
        assert fast_tensors[name].dtype == value.dtype and fast_tensors[name].requires_grad == value.requires_grad
    assert fast.state_dict().keys() == slow.state_dict().keys()  # position_ids stays non-persistent


def test_no_meta_tensors_remain(saved):
    model = load_pipeline(saved[1]).model
    assert not any(t.is_meta for t in list(model.parameters()) + list(model.buffers()))
    check_no_meta(model, config_name="c", source="f")
    embeddings = model.conditioner.conditioners["video_prompt"].visual_encoder_model.vision_model.embeddings
    assert torch.equal(embeddings.position_ids, torch.arange(embeddings.num_positions)[None])


def test_missing_key_raises_the_strict_load_error(saved, tmp_path):
    _, folder = saved
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in folder.iterdir():
        (broken / item.name).symlink_to(item)
    (broken / "model.safetensors").unlink()
    weights = load_file(str(folder / "model.safetensors"))
    dropped = min(weights)
    save_file({k: v for k, v in weights.items() if k != dropped}, str(broken / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"1 missing, 0 unexpected, 0 shape mismatches"):
        load_pipeline(broken)


class Owner(nn.Module):
    """A weight plus a non-persistent table, like a rotary or position-id buffer."""

    def __init__(self, *, with_hook: bool) -> None:
        super().__init__()
        self.proj = nn.Linear(3, 3)
        self.register_buffer("table", torch.arange(4.0), persistent=False)
        if with_hook:
            self.reset_buffers = lambda device: self.register_buffer(
                "table", torch.arange(4.0, device=device), persistent=False
            )


def test_reset_buffers_hook_rebuilds_non_persistent_buffers():
    weights = nn.Linear(3, 3).state_dict()
    model = build_then_load(lambda: Owner(with_hook=True), {f"proj.{k}": v for k, v in weights.items()},
                            config_name="c", source="f")
    assert torch.equal(model.table, torch.arange(4.0)) and torch.equal(model.proj.weight, weights["weight"])
    assert "table" not in model.state_dict()


def test_unrecomputable_buffer_raises_before_loading():
    weights = {f"proj.{k}": v for k, v in nn.Linear(3, 3).state_dict().items()}
    with pytest.raises(CheckpointError, match=r"cannot rebuild the non-persistent buffers of Owner.*reset_buffers"):
        build_then_load(lambda: Owner(with_hook=False), weights, config_name="c", source="f")


def test_missing_key_raises_through_build_then_load():
    with pytest.raises(CheckpointError, match=r"f: 1 missing"):
        build_then_load(lambda: nn.Linear(3, 3), {"weight": torch.zeros(3, 3)}, config_name="c", source="f")


def test_tensor_attribute_left_on_meta_raises():
    class Plain(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(2, 2)
            self.scale = torch.ones(2)  # plain attribute: no state dict, no buffer

    weights = {f"proj.{k}": v for k, v in nn.Linear(2, 2).state_dict().items()}
    with pytest.raises(CheckpointError, match=r"1 tensors stay uninitialised.*scale"):
        build_then_load(Plain, weights, config_name="c", source="f")


def test_building_on_meta_draws_no_random_numbers():
    state = torch.random.get_rng_state()
    module = build_on_meta(lambda: nn.Linear(64, 64))
    assert module.weight.is_meta
    assert torch.equal(torch.random.get_rng_state(), state)
