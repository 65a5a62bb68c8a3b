"""LoRA fine-tuning: only adapters train, files hold only adapters, merge = hooks, scale 0 = base, base checked."""

from __future__ import annotations

import copy

import pytest
import torch
from safetensors import safe_open

from audiox.backbone.lora import LoraAdapters, base_identity, linear_targets, merge_adapter
from audiox.checkpoints.lora import apply_adapters, parse_adapter_spec, read_adapter, save_adapter
from audiox.errors import CheckpointError, ConfigError
from audiox.training.config import TrainConfig, apply_overrides
from audiox.training.fit import build_training_model, manifest_dataset
from audiox.training.lightning_module import DiffusionTrainingModule, diffusion_loss_for_batch
from tests.training.tiny_data import FAST_TRAIN, write_tiny_dataset


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("data"), num_items=2)


def _inputs(backbone, seed=0):
    g = torch.Generator().manual_seed(seed)
    length = getattr(backbone, "num_latent_frames", 8)
    x = torch.randn(2, backbone.io_channels, length, generator=g)
    width = backbone.mm_token_dim if hasattr(backbone, "mm_token_dim") else backbone.cond_token_dim
    tokens = backbone.num_mm_tokens if hasattr(backbone, "num_mm_tokens") else 5
    return x, torch.tensor([0.3, 0.8]), torch.randn(2, tokens, width, generator=g)


def _randomised(adapters, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in adapters.parameters():
            p.copy_(0.05 * torch.randn(p.shape, generator=g))
    return adapters


def test_only_adapter_parameters_train_and_a_new_adapter_changes_nothing(manifest):
    built = build_training_model(model_config="tiny-mmdit")
    base = copy.deepcopy(built.model.backbone)
    cfg = apply_overrides(TrainConfig(), ["lora.rank=2", "lora.targets=[\"*.attn.qkv\", \"project_out\"]"])
    module = DiffusionTrainingModule(built.model, cfg)
    x, t, ctx = _inputs(base)
    assert torch.equal(built.model.backbone(x, t, ctx), base(x, t, ctx))  # B = 0 at init
    assert {id(p) for p in module.trainable} == {id(p) for p in module.lora.parameters()}
    assert module.lora.targets == ["transformer.project_out", "transformer.layers.0.attn.qkv", "transformer.layers.1.attn.qkv"]
    dataset = manifest_dataset(built.model, cfg, manifest)
    loss = diffusion_loss_for_batch(module.model, dataset.collate([dataset[0], dataset[1]]), cfg,
                                    torch.Generator().manual_seed(0))
    loss.backward()
    assert all(p.grad is None for p in built.model.parameters())
    assert all(p.grad is not None for p in module.lora.parameters())  # A gets a gradient through B's too
    assert module.ema is not None and module.ema_target is module.lora


@pytest.mark.parametrize("preset", ["tiny-dit", "tiny-mmdit"])
def test_merged_adapter_equals_the_hooked_one_and_files_round_trip(preset, tmp_path):
    backbone = build_training_model(model_config=preset).model.backbone
    base = copy.deepcopy(backbone)
    adapters = _randomised(LoraAdapters(backbone, linear_targets(backbone), rank=3, alpha=6.0))
    x, t, ctx = _inputs(backbone)
    handles = adapters.attach(backbone, scale=0.5)
    hooked = backbone(x, t, ctx)
    for handle in handles:
        handle.remove()
    assert not torch.allclose(hooked, base(x, t, ctx))
    path = save_adapter(tmp_path / "a.safetensors", adapters.adapter_tensors(), rank=3, alpha=6.0,
                        base_sha256=base_identity(base, adapters.targets), base_model="tiny")
    with safe_open(str(path), "pt") as f:
        assert all(".lora_A.weight" in k or ".lora_B.weight" in k for k in f.keys())  # noqa: SIM118
    read = read_adapter(path)
    assert (read.rank, read.alpha, read.targets) == (3, 6.0, sorted(adapters.targets))
    assert all(torch.equal(read.tensors[k], v) for k, v in adapters.adapter_tensors().items())  # bit-exact
    apply_adapters(backbone, [f"{path}:0.5"])
    torch.testing.assert_close(backbone(x, t, ctx), hooked, rtol=1e-4, atol=1e-5)


def test_scale_zero_is_the_base_exactly_and_a_different_base_is_refused(tmp_path):
    backbone = build_training_model(model_config="tiny-mmdit").model.backbone
    adapters = _randomised(LoraAdapters(backbone, linear_targets(backbone, ["qkv"]), rank=2))
    path = save_adapter(tmp_path / "a.safetensors", adapters.adapter_tensors(), rank=2, alpha=2.0,
                        base_sha256=base_identity(backbone, adapters.targets))
    before = copy.deepcopy(backbone.state_dict())
    apply_adapters(backbone, [(path, 0.0)])
    assert all(torch.equal(v, backbone.state_dict()[k]) for k, v in before.items())
    other = build_training_model(model_config="tiny-mmdit", seed=7).model.backbone
    with pytest.raises(CheckpointError, match="different base model"):
        apply_adapters(other, [path])
    dit = build_training_model(model_config="tiny-dit").model.backbone
    with pytest.raises(CheckpointError, match="different base model"):
        apply_adapters(dit, [path])  # another architecture: the layers are not even there
    assert merge_adapter(other, read_adapter(path).tensors, rank=2, alpha=2.0, scale=0.0) == 0


def test_specs_targets_and_bad_files(tmp_path):
    assert parse_adapter_spec("runs/a.safetensors:0.25") == (tmp_path.__class__("runs/a.safetensors"), 0.25)
    assert parse_adapter_spec("a.safetensors")[1] == 1.0
    backbone = build_training_model(model_config="tiny-dit").model.backbone
    with pytest.raises(ConfigError, match="no nn.Linear"):
        linear_targets(backbone, ["no_such_layer"])
    with pytest.raises(CheckpointError, match="not found"):
        read_adapter(tmp_path / "missing.safetensors")
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(CheckpointError, match="not an audiox LoRA adapter"):
        read_adapter(tmp_path / "plain.safetensors")


@pytest.mark.slow
def test_cli_trains_an_adapter_and_generate_applies_it(tiny_model_dir, manifest, tmp_path, capsys):
    from audiox import AudioX
    from audiox.cli.main import main

    args = ["train", "--init", str(tiny_model_dir), "--data", str(manifest), "--out", str(tmp_path / "run"),
            "--lora", "2", "--lora-targets", "to_qkv", "to_out", *[a for s in FAST_TRAIN for a in ("--set", s)],
            "--set", "run.max_steps=2", "--quiet"]
    assert main(args) == 0
    adapter = tmp_path / "run" / "export" / "final" / "adapter.safetensors"
    assert "LoRA adapter" in capsys.readouterr().out and adapter.is_file()
    assert not (tmp_path / "run" / "export" / "final" / "model.safetensors").exists()
    base = AudioX.from_pretrained(tiny_model_dir).generate("a dog barks", duration_s=1.0, steps=2, seed=3).audio
    off = AudioX.from_pretrained(tiny_model_dir, lora=[f"{adapter}:0"]).generate(
        "a dog barks", duration_s=1.0, steps=2, seed=3).audio
    on = AudioX.from_pretrained(tiny_model_dir, lora=[adapter]).generate(
        "a dog barks", duration_s=1.0, steps=2, seed=3).audio
    assert torch.equal(off, base) and not torch.equal(on, base)
    out = tmp_path / "x.wav"
    assert main(["generate", "x", "--model", str(tiny_model_dir), "--lora", str(adapter), "--steps", "1",
                 "--duration", "1", "-o", str(out), "--quiet"]) == 0 and out.is_file()
    assert main(["train", "--model-config", "tiny-dit", "--data", str(manifest), "--out", str(tmp_path / "r2"),
                 "--lora", "2", "--quiet"]) == 2
    assert "--init" in capsys.readouterr().err
