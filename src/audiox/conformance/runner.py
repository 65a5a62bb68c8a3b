"""Run golden-vector cases: build the named component from the case's config, load its state dict
strictly, feed its inputs and compare every output at the case's tolerance."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

import torch

from audiox.conformance.case import Case, find_cases, read_case
from audiox.conformance.compare import Comparison, compare, tolerance
from audiox.conformance.kinds import CaseKind
from audiox.conformance.registry import CASE_KINDS
from audiox.errors import AudioXError, InputError


@dataclass(frozen=True)
class CaseResult:
    name: str
    kind: str
    ok: bool
    comparisons: tuple[Comparison, ...]
    error: str | None = None

    @property
    def worst(self) -> Comparison | None:
        failing = [c for c in self.comparisons if not c.ok]
        pool = failing or list(self.comparisons)
        return max(pool, key=lambda c: c.max_abs_err / max(c.atol, 1e-30)) if pool else None

    def line(self) -> str:
        status = "ok" if self.ok else "FAIL"
        if self.error:
            return f"{self.name:<36} {status:<4} {self.error}"
        w = self.worst
        detail = f"worst {w.name} max abs err {w.max_abs_err:.3g} (atol {w.atol:.3g})" if w else "no outputs"
        return f"{self.name:<36} {status:<4} {detail}"


def run_case(folder: str | Path) -> CaseResult:
    """Run one case folder; never raises for a failing case (the result says why)."""
    folder = Path(folder)
    try:
        case = read_case(folder)
    except (AudioXError, OSError, ValueError) as e:
        return CaseResult(folder.name, "?", False, (), error=f"unreadable case: {e}")
    kind = CASE_KINDS.get(case.kind)
    if kind is None:
        return CaseResult(case.name, case.kind, False, (), error=f"no runner for case kind {case.kind!r}")
    try:
        with torch.no_grad():
            ours = kind.run(case)
    except Exception as e:  # noqa: BLE001 - a case that cannot run is a failure with its reason, not a crash
        where = traceback.extract_tb(e.__traceback__)[-1]
        msg = f"{type(e).__name__}: {e} ({Path(where.filename).name}:{where.lineno})"
        return CaseResult(case.name, case.kind, False, (), error=msg.replace("\n", " "))
    comparisons = _compare_outputs(case, kind, ours)
    ok = bool(comparisons) and all(c.ok for c in comparisons)
    return CaseResult(case.name, case.kind, ok, tuple(comparisons))


def _compare_outputs(case: Case, kind: CaseKind, ours: dict[str, torch.Tensor]) -> list[Comparison]:
    """Every reference output against ours; an output of ours named `<ref>@<variant>` (the same output
    computed another way, e.g. from the raw frames) is compared with reference `<ref>` at its tolerance."""
    comparisons = []
    for name, ref in case.outputs.items():
        if name not in ours:
            if kind.required(name):
                comparisons.append(Comparison(name, False, float("inf"), 0.0, 0.0, "not produced"))
            continue
        atol, rtol = tolerance(case, name, ref, kind.default_tolerance(name, ref))
        comparisons.append(compare(name, ours[name], ref, atol, rtol))
    for name, value in ours.items():
        base, variant, _ = name.partition("@")
        if variant and base in case.outputs:
            ref = case.outputs[base]
            atol, rtol = tolerance(case, base, ref, kind.default_tolerance(base, ref))
            comparisons.append(compare(name, value, ref, atol, rtol))
    return comparisons


def run_all(root: str | Path, *, echo=print, verbose: bool = False) -> list[CaseResult]:
    """Run every case folder under `root`, printing one line per case and a final `N passed, M failed`."""
    folders = find_cases(root)
    if not folders:
        raise InputError(f"{root}: no golden-vector case folders (with case.json) found")
    results = []
    for folder in folders:
        result = run_case(folder)
        results.append(result)
        echo(result.line())
        if verbose or not result.ok:
            for c in result.comparisons:
                if verbose or not c.ok:
                    echo(f"    {'ok  ' if c.ok else 'FAIL'} {c.describe()}")
    passed = sum(r.ok for r in results)
    echo(f"{passed} passed, {len(results) - passed} failed")
    return results
