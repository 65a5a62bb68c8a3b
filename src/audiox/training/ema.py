"""Exponential moving average of model weights with the ema-pytorch warm-up schedule.

The official trainer wraps `diffusion.model` in `ema_pytorch.EMA(beta=0.9999, power=3/4,
update_every=1, update_after_step=1, include_online_model=False)` and calls `update()` once per
optimiser step. Semantics reproduced here (k = the number of `update()` calls so far, including
the current one, stored in the `step` buffer):

* a call whose previous count k - 1 is not a multiple of `update_every` does nothing else;
* while k - 1 <= update_after_step the EMA copy is overwritten with the online weights;
* afterwards (the first time: copy first) ema <- ema + (1 - decay) * (online - ema) with
  decay = `ema_decay(k)` = clamp(1 - (1 + e / inv_gamma) ** -power, min_value, beta),
  e = k - update_after_step - 1 (decay 0 while e <= 0).

Floating-point parameters and buffers are averaged; other buffers are copied.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from audiox.errors import ConfigError


@dataclass(frozen=True, kw_only=True, slots=True)
class EmaConfig:
    """ema-pytorch arguments; defaults = the official trainer's (beta 0.9999, power 3/4, every step)."""

    beta: float = 0.9999
    power: float = 0.75
    inv_gamma: float = 1.0
    min_value: float = 0.0
    update_after_step: int = 1
    update_every: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_value <= self.beta <= 1.0:
            raise ConfigError(f"EMA: need 0 <= min_value <= beta <= 1, got {self.min_value}, {self.beta}")
        if self.update_every < 1 or self.update_after_step < 0 or not self.inv_gamma > 0:
            raise ConfigError("EMA: update_every must be >= 1, update_after_step >= 0 and inv_gamma > 0")


def ema_decay(step: int, cfg: EmaConfig = EmaConfig()) -> float:
    """EMA decay used at update number `step` (1-based count of `update()` calls)."""
    epoch = max(step - cfg.update_after_step - 1, 0)
    if epoch <= 0:
        return 0.0
    value = 1 - (1 + epoch / cfg.inv_gamma) ** -cfg.power
    return min(max(value, cfg.min_value), cfg.beta)


class EMA(nn.Module):
    """EMA copy of a module. Attribute names match ema-pytorch's state-dict keys
    (`ema_model.*`, `initted`, `step`) so official training checkpoints (`diffusion_ema.*`) load.
    The online model is referenced, not registered, like `include_online_model=False`."""

    def __init__(self, model: nn.Module, cfg: EmaConfig = EmaConfig()) -> None:
        super().__init__()
        self._online = (model,)  # a tuple keeps it out of parameters() / state_dict()
        self.ema_model = copy.deepcopy(model).requires_grad_(False)
        self.cfg = cfg
        self.register_buffer("initted", torch.tensor([0.0]))  # ema-pytorch: torch.Tensor([False])
        self.register_buffer("step", torch.tensor([0]))

    @property
    def online_model(self) -> nn.Module:
        return self._online[0]

    def current_decay(self) -> float:
        """Decay of the most recent update (uses the `step` count)."""
        return ema_decay(int(self.step.item()), self.cfg)

    @torch.no_grad()
    def update(self) -> None:
        """Call once per optimiser step, after the weights changed."""
        previous = int(self.step.item())
        self.step += 1
        if previous % self.cfg.update_every != 0:
            return
        if previous <= self.cfg.update_after_step:
            self.copy_from_online()
            return
        if not bool(self.initted.item()):
            self.copy_from_online()
            self.initted.fill_(1.0)
        self._blend(1.0 - self.current_decay())

    @torch.no_grad()
    def copy_from_online(self) -> None:
        """Overwrite every EMA tensor with the online model's."""
        for ema_tensor, online_tensor in self._pairs():
            ema_tensor.copy_(online_tensor)

    def _blend(self, weight: float) -> None:
        for ema_tensor, online_tensor in self._pairs():
            if ema_tensor.is_floating_point():
                ema_tensor.lerp_(online_tensor.to(ema_tensor.dtype), weight)
            else:
                ema_tensor.copy_(online_tensor)

    def _pairs(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        online = dict(self.online_model.named_parameters()) | dict(self.online_model.named_buffers())
        averaged = dict(self.ema_model.named_parameters()) | dict(self.ema_model.named_buffers())
        if online.keys() != averaged.keys():
            missing = sorted(online.keys() ^ averaged.keys())[:5]
            raise RuntimeError(f"EMA and online model tensors differ (first: {missing}); rebuild the EMA")
        return [(averaged[name], online[name]) for name in averaged]

    def forward(self, *args, **kwargs):
        """Run the averaged model."""
        return self.ema_model(*args, **kwargs)
