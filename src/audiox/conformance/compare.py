"""Elementwise comparison of our outputs with reference outputs at a case's tolerance."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from audiox.conformance.case import Case


@dataclass(frozen=True)
class Comparison:
    name: str
    ok: bool
    max_abs_err: float
    atol: float
    rtol: float
    where: str  # index of the worst element, or why it failed

    def describe(self) -> str:
        return f"{self.name}: max abs err {self.max_abs_err:.3g} (atol {self.atol:.3g}, rtol {self.rtol:.3g}) at {self.where}"


def tolerance(case: Case, name: str, ref: torch.Tensor, default: tuple[float, float]) -> tuple[float, float]:
    """(atol, rtol) for output `name`: the case's per-output suggestion when it gives one, else `default`."""
    tol = case.meta.get("tolerance", {})
    entry = tol.get(name) if isinstance(tol, dict) else None
    if isinstance(entry, dict) and "suggested_atol" in entry:
        return float(entry["suggested_atol"]), float(entry.get("suggested_rtol", 1e-4))
    return default


def compare(name: str, ours: torch.Tensor, ref: torch.Tensor, atol: float, rtol: float) -> Comparison:
    """|ours - ref| <= atol + rtol * |ref| elementwise, in float64."""
    if tuple(ours.shape) != tuple(ref.shape):
        return Comparison(name, False, float("inf"), atol, rtol, f"shape {tuple(ours.shape)} != ref {tuple(ref.shape)}")
    a, b = ours.detach().to(torch.float64).cpu(), ref.to(torch.float64)
    if ref.numel() == 0:
        return Comparison(name, True, 0.0, atol, rtol, "-")
    err = (a - b).abs()
    err = torch.where(torch.isnan(err), torch.full_like(err, float("inf")), err)
    excess = err - (atol + rtol * b.abs())
    worst = int(torch.argmax(err).item())
    idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), ref.shape))
    return Comparison(name, bool((excess <= 0).all()), float(err.max()), atol, rtol, str(list(idx)))
