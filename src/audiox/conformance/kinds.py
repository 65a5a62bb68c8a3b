"""What a case kind is: a function that computes a case's outputs, plus its default tolerance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from audiox.conformance.case import Case


def forward_tolerance(name: str, ref: torch.Tensor) -> tuple[float, float]:
    """Default for single forwards: atol 2e-5 x output scale, rtol 1e-4; CFG outputs (cfg > 1) x 10."""
    scale = max(1.0, float(ref.abs().max())) if ref.numel() and ref.is_floating_point() else 1.0
    atol = 2e-5 * scale
    if "cfg" in name and "cfg1" not in name:
        atol *= 10
    return atol, 1e-4


@dataclass(frozen=True)
class CaseKind:
    """`run(case)` returns {output name: tensor}; every reference output that is not a debug aid must be
    among them. Debug aids (`debug_*`, `*.debug*`, and names `is_debug` accepts) are compared when produced.
    `<name>@<variant>` outputs (the same output computed another way) are compared with reference `<name>`."""

    run: Callable[[Case], dict[str, torch.Tensor]]
    default_tolerance: Callable[[str, torch.Tensor], tuple[float, float]] = field(default=forward_tolerance)
    is_debug: Callable[[str], bool] = field(default=lambda name: False)

    def required(self, name: str) -> bool:
        return not (name.startswith("debug_") or ".debug" in name or "_debug_" in name or self.is_debug(name))
