"""`audiox distill` on Lightning: the DMD training module and the run (data, trainer, resume, export).

The module holds the student DiffusionModel (`model`: teacher weights; only its backbone trains), the frozen
teacher backbone (`teacher`), the fake-score backbone (`fake`) and the discriminator heads (`heads`), with
one AdamW + InverseLR over student + fake + heads (official). Each optimizer step is a student or a fake /
discriminator step (`DistillConfig.phase`); parameters outside the step's phase get no gradient (None),
so AdamW leaves them (and their moments) untouched. Checkpoints hold everything but the teacher, which
is rebuilt from `--teacher` on resume; the data position, optimizer, scheduler, fake network, heads and
student EMA are restored. The exported folder (`OUT/export/final`) is the student with the DMD sampler as
its default (`generation_defaults`: dmd, `dmd_sample_steps` steps, no CFG).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor

from audiox.diffusion.model import DiffusionModel
from audiox.errors import ConfigError
from audiox.training.distill_config import DistillConfig
from audiox.training.distill_dmd import DmdNetworks, check_objective, dmd_step_losses
from audiox.training.dmd_discriminator import DiscriminatorHeads, feature_depths
from audiox.training.ema import EMA
from audiox.training.lightning_module import step_seed, target_and_context
from audiox.training.schedules import build_optimizer

TEACHER_PREFIX = "teacher."


def dmd_generation_defaults(cfg: DistillConfig) -> dict[str, Any]:
    """The exported student's sampler defaults (audiox.json): DMD, its step count, no CFG; a trajectory
    student (`regression_target` "next") takes deterministic Euler steps on the same grid instead."""
    sampler = "rf-euler" if cfg.regression_loss_weight > 0 and cfg.regression_target == "next" else "dmd"
    return {"sampler": sampler, "steps": cfg.dmd_sample_steps, "cfg_scale": 1.0, "sigma_max": 1.0}


class DmdTrainingModule(pl.LightningModule):
    """DMD distillation of `model` (student, initialised from the teacher) against `teacher` (a frozen
    backbone of the same architecture)."""

    def __init__(self, model: DiffusionModel, teacher: torch.nn.Module, cfg: DistillConfig) -> None:
        super().__init__()
        if model.conditioner is None or model.pretransform is None:
            raise ConfigError("distill: the teacher needs model.conditioning and model.pretransform in its config")
        check_objective(model.objective)
        self.model, self.cfg = model, cfg
        self.teacher = teacher.requires_grad_(False).eval()
        self.fake = copy.deepcopy(model.backbone)
        model.requires_grad_(False)
        model.backbone.requires_grad_(True)
        self.fake.requires_grad_(True)
        self.heads = None
        if cfg.use_gan:
            depth = len(model.backbone.transformer.layers)
            depths = feature_depths(cfg.gan_discriminator_head_mode, cfg.gan_backbone_num_blocks, depth)
            self.heads = DiscriminatorHeads(depths=depths, in_channels=model.config.model.io_channels,
                                            width=cfg.gan_head_width)
        self.ema = EMA(model.backbone, cfg.ema) if cfg.use_ema else None

    @property
    def networks(self) -> DmdNetworks:
        return DmdNetworks(self.model, self.teacher, self.fake, self.heads, self.cfg.gan_feature_network)

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        """Student backbone, fake backbone and discriminator heads (one optimiser, as officially)."""
        modules = [self.model.backbone, self.fake] + ([self.heads] if self.heads is not None else [])
        return [p for m in modules for p in m.parameters()]

    def train(self, mode: bool = True) -> DmdTrainingModule:
        """Only the student, fake and heads switch to train mode; frozen parts stay in eval."""
        super().train(False)
        for module in (self.model.backbone, self.fake, self.heads):
            if module is not None:
                module.train(mode)
        return self

    def step_generator(self, batch_idx: int) -> torch.Generator:
        micro = batch_idx % max(1, self.cfg.run.accumulate_grad_batches)
        return torch.Generator().manual_seed(step_seed(self.cfg.run.seed, self.global_step, self.global_rank, micro))

    def step_losses(self, batch: dict[str, Any], generator: torch.Generator, phase: str) -> dict[str, Tensor]:
        """The losses of one micro-batch in `phase` (conditions and target latents without gradient)."""
        with torch.no_grad():
            x0, context = target_and_context(self.model, batch, self.cfg.masking, generator)
        return dmd_step_losses(self.networks, x0, context, batch["padding_mask"], self.cfg, phase, generator,
                               batch.get("teacher_path"))

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        phase = self.cfg.phase(self.global_step)
        losses = self.step_losses(batch, self.step_generator(batch_idx), phase)
        size = len(batch["text_prompt"])
        self.log_dict({f"train/{k}": v.detach() for k, v in losses.items() if k != "loss"}, batch_size=size)
        self.log(f"train/{phase}_loss", losses["loss"].detach(), prog_bar=True, batch_size=size)
        return losses["loss"]

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer, scheduler = build_optimizer(self.trainable_parameters(), self.cfg.optimizer_preset)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        super().optimizer_step(*args, **kwargs)
        if self.ema is not None:
            self.ema.update()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """The frozen teacher is not saved (it is rebuilt from --teacher)."""
        state = checkpoint["state_dict"]
        for key in [k for k in state if k.startswith(TEACHER_PREFIX)]:
            del state[key]

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint["state_dict"]
        state.update({TEACHER_PREFIX + k: v for k, v in self.teacher.state_dict().items()})

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        return {k: v.to(device) if isinstance(v, Tensor) else v for k, v in batch.items()}


def teacher_path_dataset(model: DiffusionModel, teacher: torch.nn.Module, dataset: Any, cfg: DistillConfig,
                         paths_dir: Path) -> Any:
    """The cache `dataset` with the teacher's ODE paths (made now under `paths_dir`, or finished / reused)."""
    from audiox.training.encode_dataset import CachedDataConfig, CachedDataset
    from audiox.training.teacher_paths import TeacherPathDataset, write_teacher_paths

    if cfg.regression_target == "next" and model.objective != "rectified_flow":
        raise ConfigError("distill: regression_target=next needs a rectified-flow teacher (its student samples "
                          "with rf-euler); use regression_target=end for a v teacher")
    if not isinstance(dataset, CachedDataset):
        raise ConfigError("distill: regression_loss_weight > 0 needs an encode-dataset cache as --data "
                          "(the teacher's samples are computed once per cached item)")
    write_teacher_paths(model.eval(), teacher, dataset, paths_dir, student_steps=cfg.dmd_sample_steps,
                        teacher_steps=cfg.teacher_path_steps, guidance=cfg.teacher_guidance_scale, seed=cfg.run.seed)
    return TeacherPathDataset(dataset.root, paths_dir, CachedDataConfig(seed=cfg.run.seed))


def distill(
    teacher_dir: str | os.PathLike,
    cfg: DistillConfig,
    data: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    resume: str | os.PathLike | None = None,
    callbacks: Sequence[pl.Callback] = (),
) -> Any:
    """Distil the model folder `teacher_dir` on `data` (a manifest or an encode-dataset cache) into a
    `cfg.dmd_sample_steps`-step student; checkpoints, logs and OUT/export/final go under `out_dir`.
    Returns `fit.TrainResult`."""
    from audiox.training.callbacks import ExportCallback
    from audiox.training.fit import build_training_model, fit_module, training_dataset

    out = Path(out_dir)
    built = build_training_model(init=teacher_dir)
    teacher = copy.deepcopy(built.model.backbone)
    dataset = training_dataset(built.model, cfg, data)
    if cfg.regression_loss_weight > 0:
        dataset = teacher_path_dataset(built.model, teacher, dataset, cfg, out / "teacher_paths")
    module = DmdTrainingModule(built.model, teacher, cfg)
    options = {**built.options, "generation_defaults": dmd_generation_defaults(cfg)}
    export = ExportCallback(out / "export", every_n_steps=cfg.run.export_every_n_steps, options=options,
                            synchformer=built.synchformer)
    return fit_module(module, cfg, dataset, out, export=export, callbacks=callbacks, resume=resume)
