"""Does a model use its conditions? The denoising loss of bench cases with each case's own context, with
another case's context, and with the empty context (the CFG unconditional).

For every case the target latents x0 are the VAE posterior mean of its ground-truth render; the same noise
and noise levels `times` are used for all three contexts, so the differences come from the context alone:

    loss_own      mean over t of MSE(net(z_t, t, own context), target)
    loss_swapped  ... with the context of the next case (cases rolled by one)
    loss_empty    ... with the all-zero context
    swap_gain     loss_swapped / loss_own - 1: how much worse a wrong instruction makes the prediction

A model that ignores its conditions has swap_gain 0; one that follows them has a clearly positive one (and
loss_empty above loss_own). Cheap (no sampling), so it can watch a training run long before the
instruction-following bench (`evaluation.bench`) can tell anything.

    python benchmarks/conditioning_gap.py --model runs/own/model --tasks t2a,v2a --num 16
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from audiox.errors import InputError
from audiox.evaluation.bench_sets import BenchCase
from audiox.training.losses import mse_loss, noised_input_and_target

DEFAULT_TIMES = (0.2, 0.4, 0.6, 0.8, 0.95)


@dataclass(frozen=True, kw_only=True, slots=True)
class ConditioningGap:
    task: str
    num_cases: int
    loss_own: float
    loss_swapped: float
    loss_empty: float

    @property
    def swap_gain(self) -> float:
        return self.loss_swapped / self.loss_own - 1.0

    @property
    def empty_gain(self) -> float:
        return self.loss_empty / self.loss_own - 1.0

    def line(self) -> str:
        return (
            f"{self.task:<13} n={self.num_cases:<3} loss own {self.loss_own:.4f}  swapped {self.loss_swapped:.4f}  "
            f"empty {self.loss_empty:.4f}  swap gain {100 * self.swap_gain:+.2f} %  "
            f"empty gain {100 * self.empty_gain:+.2f} %"
        )


def conditioning_gap(
    pipe, cases: Sequence[BenchCase], *, times: Sequence[float] = DEFAULT_TIMES, seed: int = 0
) -> ConditioningGap:
    """cases: >= 2 cases of one task (for an MMDiT built at the pipeline's window length) -> the gap."""
    if len(cases) < 2:
        raise InputError(f"the conditioning gap needs at least 2 cases to swap contexts, got {len(cases)}")
    if not times or not all(0.0 < t <= 1.0 for t in times):
        raise InputError(f"noise levels {tuple(times)} must be in (0, 1]")
    model = pipe.model
    x0 = pipe.encode(torch.stack([c.reference for c in cases])).float()  # (B, D, L): ground-truth posterior means
    frames = getattr(model.backbone, "num_latent_frames", x0.shape[-1])  # only the MMDiT has a fixed length
    if x0.shape[-1] != frames:
        raise InputError(f"the cases give {x0.shape[-1]} latent frames, the model takes {frames}; "
                         f"build them at the model's window ({pipe.window_s:.2f} s)")
    own = torch.cat([pipe.context(c.request) for c in cases]).float()  # (B, N, D)
    contexts = {"own": own, "swapped": own.roll(1, dims=0), "empty": torch.zeros_like(own)}
    generator = torch.Generator().manual_seed(seed)
    totals = dict.fromkeys(contexts, 0.0)
    with torch.no_grad():
        for t in times:
            noise = torch.randn(x0.shape, generator=generator).to(x0.device)
            level = torch.full((x0.shape[0],), float(t), device=x0.device)
            z, target = noised_input_and_target(model.objective, x0, noise, level)
            for name, context in contexts.items():
                output = model.backbone(z, level, context).float()
                totals[name] += float(mse_loss(output, target)) / len(times)
    return ConditioningGap(task=cases[0].task, num_cases=len(cases), loss_own=totals["own"],
                           loss_swapped=totals["swapped"], loss_empty=totals["empty"])
