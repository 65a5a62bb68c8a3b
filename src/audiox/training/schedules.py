"""Learning-rate schedule and optimiser preset of AudioX training.

`InverseLR` (k-diffusion / stable-audio-tools), stepped once per optimiser step, gives at step n

    lr(n) = (1 - warmup ** (n + 1)) * max(final_lr, base_lr * (1 + n / inv_gamma) ** -power)

i.e. an exponential ramp-up (the warm-up factor tends to 1 with time constant -1 / ln(warmup)
steps) times an inverse-power decay floored at `final_lr`. Here it is a pure function plus a
`torch.optim.lr_scheduler.LambdaLR` factor (LambdaLR multiplies each group's initial lr by it, and
like InverseLR evaluates step 0 on construction).

The AudioX preset ("AdamW, lr 1e-5, weight decay 0.001, exponential ramp-up and decay") uses the
stable-audio-tools scheduler values inv_gamma 1e6, power 0.5, warmup 0.99 and betas (0.9, 0.999).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch.optim.lr_scheduler import LambdaLR

from audiox.errors import ConfigError


@dataclass(frozen=True, kw_only=True, slots=True)
class InverseLRConfig:
    """Field names = the official `scheduler.config` keys of type "InverseLR" (code defaults)."""

    inv_gamma: float = 1.0
    power: float = 1.0
    warmup: float = 0.0
    final_lr: float = 0.0

    def __post_init__(self) -> None:
        if not self.inv_gamma > 0:
            raise ConfigError(f"InverseLR: inv_gamma={self.inv_gamma!r} must be > 0")
        if not 0.0 <= self.warmup < 1.0:
            raise ConfigError(f"InverseLR: warmup={self.warmup!r} must be in [0, 1)")
        if self.final_lr < 0:
            raise ConfigError(f"InverseLR: final_lr={self.final_lr!r} must be >= 0")


@dataclass(frozen=True, kw_only=True, slots=True)
class AdamWConfig:
    """torch.optim.AdamW keyword arguments used by the preset."""

    lr: float = 1e-5
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 1e-3


@dataclass(frozen=True, kw_only=True, slots=True)
class OptimizerPreset:
    """Optimiser + scheduler of one trainable part (`optimizer_configs.diffusion`)."""

    optimizer: AdamWConfig
    scheduler: InverseLRConfig


def audiox_optimizer_preset() -> OptimizerPreset:
    """AdamW(lr 1e-5, wd 1e-3) with exponential ramp-up (warmup 0.99) and inverse-sqrt decay."""
    return OptimizerPreset(
        optimizer=AdamWConfig(lr=1e-5, betas=(0.9, 0.999), weight_decay=1e-3),
        scheduler=InverseLRConfig(inv_gamma=1e6, power=0.5, warmup=0.99, final_lr=0.0),
    )


def inverse_lr(step: int, base_lr: float, cfg: InverseLRConfig) -> float:
    """Learning rate at optimiser step `step` (0-based) of the InverseLR schedule."""
    ramp = 1.0 - cfg.warmup ** (step + 1)
    decayed = base_lr * (1.0 + step / cfg.inv_gamma) ** -cfg.power
    return ramp * max(cfg.final_lr, decayed)


def inverse_lr_factor(base_lr: float, cfg: InverseLRConfig) -> Callable[[int], float]:
    """`lr_lambda` for LambdaLR: step -> inverse_lr(step) / base_lr (needs base_lr for `final_lr`)."""
    if not base_lr > 0:
        raise ConfigError(f"InverseLR: base learning rate {base_lr!r} must be > 0")

    def factor(step: int) -> float:
        return inverse_lr(step, base_lr, cfg) / base_lr

    return factor


def inverse_lr_scheduler(optimizer: torch.optim.Optimizer, cfg: InverseLRConfig) -> LambdaLR:
    """A LambdaLR reproducing InverseLR for every param group of `optimizer` (call .step() per step)."""
    factors = [inverse_lr_factor(group["lr"], cfg) for group in optimizer.param_groups]
    return LambdaLR(optimizer, lr_lambda=factors)


def build_optimizer(
    params: Iterable[torch.nn.Parameter], preset: OptimizerPreset
) -> tuple[torch.optim.AdamW, LambdaLR]:
    """AdamW over `params` and its InverseLR scheduler, from a preset."""
    opt = preset.optimizer
    optimizer = torch.optim.AdamW(
        params, lr=opt.lr, betas=opt.betas, eps=opt.eps, weight_decay=opt.weight_decay
    )
    return optimizer, inverse_lr_scheduler(optimizer, preset.scheduler)
