"""The small supervised loop both caption-side pretrainings use (`synth.caption_pretraining`,
`synth.plan_pretraining`): AdamW (weight decay 1e-2), a 50-step linear warm-up into a cosine decay to zero,
gradients clipped at norm 1, one loss per step from a batch drawn with a seeded generator."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn


def train_steps(params: Sequence[nn.Parameter], batch_loss: Callable[[torch.Generator], Tensor], *, steps: int,
                lr: float, seed: int, desc: str, progress: bool = False) -> list[float]:
    """Run `steps` optimizer steps on `params`; `batch_loss(generator)` draws a batch with the generator
    (seeded by `seed`) and returns its scalar loss. Returns the loss per step."""
    from tqdm.auto import tqdm

    params = list(params)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 50) * 0.5 * (1 + np.cos(np.pi * s / steps)))
    gen = torch.Generator().manual_seed(seed)
    log = []
    for _ in tqdm(range(steps), desc=desc, disable=not progress, mininterval=5):
        loss = batch_loss(gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        log.append(float(loss.detach()))
    return log
