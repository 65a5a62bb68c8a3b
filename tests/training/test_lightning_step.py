"""The Lightning training module: which parameters train, step determinism, and a loss that falls."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch

from audiox.training.config import TrainConfig, apply_overrides
from audiox.training.fit import build_training_model, manifest_dataset, train_diffusion
from audiox.training.lightning_module import (
    DiffusionTrainingModule,
    diffusion_loss_for_batch,
    frozen_modules,
)
from tests.training.tiny_data import FAST_TRAIN, write_tiny_dataset


class LossRecorder(pl.Callback):
    def __init__(self) -> None:
        self.losses: list[tuple[int, float]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.losses.append((trainer.global_step, float(outputs["loss"])))


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize("preset", ["tiny-dit", "tiny-mmdit"])
def test_only_trainable_parts_get_gradients(preset, manifest):
    built = build_training_model(model_config=preset)
    cfg = TrainConfig()
    module = DiffusionTrainingModule(built.model, cfg)
    batch = manifest_dataset(built.model, cfg, manifest).collate(
        [manifest_dataset(built.model, cfg, manifest)[i] for i in range(2)]
    )
    loss = diffusion_loss_for_batch(module.model, batch, cfg, torch.Generator().manual_seed(0))
    loss.backward()
    frozen = {id(p) for m in frozen_modules(built.model) for p in m.parameters()}
    names = {n for n, p in built.model.named_parameters() if id(p) in frozen}
    assert any(".visual_encoder_model." in n for n in names) and any(n.startswith("pretransform.") for n in names)
    for name, p in built.model.named_parameters():
        if id(p) in frozen:
            assert p.grad is None, name
    assert built.model.backbone.postprocess_conv.weight.grad is not None
    assert built.model.maf_block.gating_network[0].weight.grad is not None
    t5 = built.model.conditioner.conditioners["text_prompt"].text_encoder.model
    assert all(not p.requires_grad for p in t5.parameters())
    assert module.ema is not None and all(not p.requires_grad for p in module.ema.parameters())


def test_step_loss_depends_only_on_the_generator(manifest):
    built = build_training_model(model_config="tiny-dit")
    cfg = TrainConfig()
    dataset = manifest_dataset(built.model, cfg, manifest)
    batch = dataset.collate([dataset[0], dataset[1]])
    losses = [
        diffusion_loss_for_batch(built.model.eval(), batch, cfg, torch.Generator().manual_seed(s)) for s in (3, 3, 4)
    ]
    assert losses[0] == losses[1] and losses[0] != losses[2]


def fixed_loss(model, batch, cfg) -> float:
    """Mean loss of a fixed batch over fixed generators (eval mode, no grad)."""
    with torch.no_grad():
        model.eval()
        return sum(float(diffusion_loss_for_batch(model, batch, cfg, torch.Generator().manual_seed(s))) for s in range(2)) / 2


@pytest.mark.slow
def test_tiny_model_loss_falls(tmp_path, manifest):
    cfg = apply_overrides(TrainConfig(), [*FAST_TRAIN, "run.max_steps=8", "cfg_dropout_prob=0", "use_ema=false"])
    built = build_training_model(model_config="tiny-dit")
    dataset = manifest_dataset(built.model, cfg, manifest)
    batch = dataset.collate([dataset[0], dataset[1]])
    before = fixed_loss(built.model, batch, cfg)
    recorder = LossRecorder()
    train_diffusion(built.model, cfg, manifest, tmp_path / "run", callbacks=[recorder])
    after = fixed_loss(built.model, batch, cfg)
    assert [step for step, _ in recorder.losses] == list(range(1, 9))
    assert after < 0.9 * before, (before, after, recorder.losses)
    assert (tmp_path / "run" / "export" / "final" / "model.safetensors").is_file()
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
