"""`DistillConfig`: the settings of `audiox distill` (DMD few-step distillation, architecture.md §6.3).

Field names of the DMD part are the official `training` keys of `audiox_turbo_distill_4step.json`; the
defaults are the official ones (AdamW lr 1e-5 over student + fake + discriminator in one optimiser,
InverseLR, teacher CFG 6, 5 student updates then 1 fake / discriminator update per cycle, uniform target
step over the 4 student steps, one discriminator head on the teacher's full-depth output). Read with
`training.config.load_train_config(DistillConfig, path, overrides)` like `audiox train`'s config.

Choices beyond the official code, each off by default or equal to it:
* `fake_updates_per_cycle` (official 1): DMD2 trains the fake score more often than the generator;
* `gan_feature_network` (official "teacher", frozen): "fake" reads the features from the fake-score network,
  which then also trains on the discriminator loss (DMD2's choice);
* `use_ema` (official: no effect): an EMA of the student, exported instead of the online weights;
* `masking`: the `audiox train` input masking of the conditions (off: the data's own condition mix);
* `regression_loss_weight` (official: none, 0): the original DMD's regression loss (Yin et al. 2024, 3.3)
  towards the teacher's own ODE samples, precomputed once per cache item with `teacher_path_steps` Euler
  steps at the teacher's CFG (`training.teacher_paths`; needs an encode-dataset cache as the data);
  `regression_target` "end" (DMD's: the path's end from every path point) or "next" (trajectory
  distillation: the x0 whose deterministic step lands on the path's next point, so the student's own
  4-step Euler path follows the teacher's; its export samples with rf-euler instead of the DMD sampler).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from audiox.errors import ConfigError
from audiox.training.config import DataSection, DemoSection, RunSection
from audiox.training.ema import EmaConfig
from audiox.training.masking import InputMaskingConfig
from audiox.training.schedules import AdamWConfig, InverseLRConfig, OptimizerPreset

NO_MASKING = InputMaskingConfig(video_ratio=0.0, text_ratio=0.0, audio_ratio=0.0)


@dataclass(frozen=True, kw_only=True, slots=True)
class DistillConfig:
    """DMD distillation of a teacher into a `dmd_sample_steps`-step student."""

    run: RunSection = field(default_factory=RunSection)
    optimizer: AdamWConfig = field(default_factory=AdamWConfig)
    scheduler: InverseLRConfig = field(
        default_factory=lambda: InverseLRConfig(inv_gamma=1e6, power=0.5, warmup=0.99, final_lr=0.0)
    )
    dmd_sample_steps: int = 4
    dmd_loss_weight: float = 1.0
    fake_loss_weight: float = 1.0
    gan_loss_weight: float = 1.0
    use_gan: bool = True
    teacher_guidance_scale: float = 6.0
    update_ratio_s_f: int = 5  # student updates per cycle
    fake_updates_per_cycle: int = 1  # fake-score / discriminator updates per cycle
    timestep_sampling_probs: tuple[float, ...] | None = None  # per student step; None: uniform
    gan_discriminator_head_mode: Literal["last_block", "all_blocks"] = "last_block"
    gan_backbone_num_blocks: int = -1  # -1: the whole backbone
    gan_feature_network: Literal["teacher", "fake"] = "teacher"
    gan_max_t: float = 0.2  # discriminator inputs are re-noised to t_d ~ U(0, gan_max_t)
    gan_head_width: int = 128
    mask_padding: bool = False
    regression_loss_weight: float = 0.0
    teacher_path_steps: int = 25
    regression_target: Literal["end", "next"] = "end"
    masking: InputMaskingConfig = field(default_factory=lambda: NO_MASKING)
    use_ema: bool = False
    ema: EmaConfig = field(default_factory=EmaConfig)
    data: DataSection = field(default_factory=DataSection)
    demo: DemoSection = field(default_factory=lambda: DemoSection(steps=4, sampler="dmd"))

    def __post_init__(self) -> None:
        if self.dmd_sample_steps < 1:
            raise ConfigError(f"distill: dmd_sample_steps={self.dmd_sample_steps} must be >= 1")
        if self.update_ratio_s_f < 1 or self.fake_updates_per_cycle < 1:
            raise ConfigError("distill: update_ratio_s_f and fake_updates_per_cycle must be >= 1")
        probs = self.timestep_sampling_probs
        if probs is not None and (len(probs) != self.dmd_sample_steps or min(probs) < 0 or sum(probs) <= 0):
            raise ConfigError(
                f"distill: timestep_sampling_probs={list(probs)} needs {self.dmd_sample_steps} weights >= 0 "
                "(one per student step), not all zero"
            )
        if self.regression_loss_weight < 0 or self.teacher_path_steps < self.dmd_sample_steps:
            raise ConfigError(
                f"distill: regression_loss_weight={self.regression_loss_weight} must be >= 0 and "
                f"teacher_path_steps={self.teacher_path_steps} >= dmd_sample_steps={self.dmd_sample_steps}"
            )
        if not 0.0 <= self.gan_max_t <= 1.0:
            raise ConfigError(f"distill: gan_max_t={self.gan_max_t} must be in [0, 1]")

    @property
    def optimizer_preset(self) -> OptimizerPreset:
        return OptimizerPreset(optimizer=self.optimizer, scheduler=self.scheduler)

    def phase(self, global_step: int) -> str:
        """"student" or "fake": which networks optimizer step `global_step` updates (the cycle is
        `update_ratio_s_f` student steps, then `fake_updates_per_cycle` fake / discriminator steps; only
        student steps when nothing reads the fake network)."""
        if not self.trains_fake:
            return "student"
        cycle = self.update_ratio_s_f + self.fake_updates_per_cycle
        return "student" if global_step % cycle < self.update_ratio_s_f else "fake"

    @property
    def trains_fake(self) -> bool:
        """False for regression alone (no DMD term, no discriminator): every step is then a student step."""
        return self.dmd_loss_weight > 0 or self.use_gan
