"""`audiox bench`: run a generator on the fixed-seed test sets (`bench_sets.py`) and score the outputs with the
analyser, which is independent of the generator (`analyser.py`).

Per task: scene tasks (t2a, v2a, tv2a, i2a, inpaint) -> Cat / Cnt / Ord / TS; tasks with a video -> V2A onset
sync error in ms (for each video onset, the distance to the nearest audio onset, capped at 1 s); music tasks
(t2m, v2m, continuation) -> tempo accuracy (within 4 %; "x2" also accepts half / double) and key accuracy;
inpaint and continuation -> boundary quality: the log-spectral distance (dB) between the 100 ms before and the
100 ms after each point where kept and generated audio meet (for continuation: prompt + output), minus the
same statistic on the ground truth at the same time (`boundary_excess_db`: 0 = as smooth as the truth,
positive = an audible seam); the spectral-flux peak at the seam is reported the same way. Scene tasks also
tally each kind: in how many cases that asked for it it was heard, and in how many it was heard unasked
(`TaskReport.kinds`, `BenchReport.kinds_table`: which kinds a generator or a VAE gets wrong).

    report = run_bench(AudioX.from_pretrained("model/"), BenchSpec(num_per_task=4, steps=25))
    print(report.table())

`TruthPipeline(cases)` answers every request with the case's ground-truth render: the analyser's ceiling,
and a check that requests, outputs and labels are wired together correctly. `ReconstructionPipeline(cases,
pipe)` answers with the model VAE's reconstruction of that render: the ceiling the VAE sets for any
generator that uses it (`audiox bench --reconstruct`).
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from audiox.errors import InputError
from audiox.evaluation.analyser import Analyser, EvaluationReport, evaluate_items
from audiox.evaluation.bench_sets import BenchCase, BenchSpec, build_bench_set
from audiox.evaluation.instruction import KindTally
from audiox.evaluation.onsets import analyse_spectrum
from audiox.pipeline.core import AudioOutput
from audiox.pipeline.request import GenerationRequest

MAX_BENCH_WINDOW_S = 10.0
BOUNDARY_WINDOW_S = 0.1
BOUNDARY_RANGE_DB = 80.0
NAN = float("nan")
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (  # (title, TaskReport field, format; "pct" = percent)
    ("task", "task", "{}"),
    ("n", "num_items", "{}"),
    ("Cat%", "category", "pct"),
    ("Cnt%", "count", "pct"),
    ("Ord%", "order", "pct"),
    ("TS%", "timestamp", "pct"),
    ("sync ms", "sync_error_ms", "{:.1f}"),
    ("tempo%", "tempo_accuracy", "pct"),
    ("x2%", "tempo_accuracy_octave", "pct"),
    ("key%", "key_accuracy", "pct"),
    ("seam dB", "boundary_excess_db", "{:+.2f}"),
    ("flux dB", "boundary_flux_excess_db", "{:+.1f}"),
)


class AudioGenerator(Protocol):
    """What the bench runs: an `AudioX` pipeline or anything shaped like it."""

    sample_rate: int
    window_s: float  # longest span one call generates

    def __call__(self, request: GenerationRequest) -> AudioOutput: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskReport:
    """Scores of one task (nan where a score does not apply). Accuracies are fractions in [0, 1]."""

    task: str
    num_items: int
    category: float = NAN
    count: float = NAN
    order: float = NAN
    timestamp: float = NAN
    sync_error_ms: float = NAN
    tempo_accuracy: float = NAN
    tempo_accuracy_octave: float = NAN
    key_accuracy: float = NAN
    boundary_lsd_db: float = NAN
    boundary_lsd_truth_db: float = NAN
    boundary_excess_db: float = NAN
    boundary_flux_excess_db: float = NAN
    generate_s: float = NAN
    kinds: dict[str, KindTally] = field(default_factory=dict)  # scene tasks: per requested kind (`tally_kinds`)


@dataclass(frozen=True, kw_only=True, slots=True)
class BenchReport:
    tasks: tuple[TaskReport, ...]
    settings: dict = field(default_factory=dict)

    def task(self, name: str) -> TaskReport:
        return next(t for t in self.tasks if t.task == name)

    def to_dict(self) -> dict:
        """JSON-able: nan becomes None."""
        rows = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(t).items()}
            for t in self.tasks
        ]
        return {"settings": dict(self.settings), "tasks": rows}

    def table(self) -> str:
        """A fixed-width table, one row per task ('-' where a score does not apply)."""
        rows = [[title for title, _, _ in TABLE_COLUMNS]]
        for t in self.tasks:
            rows.append([_cell(getattr(t, name), fmt) for _, name, fmt in TABLE_COLUMNS])
        widths = [max(len(r[i]) for r in rows) for i in range(len(TABLE_COLUMNS))]
        lines = [
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
            for r in rows
        ]
        return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])

    def kinds_table(self) -> str:
        """Per scene task, each kind as heard/requested cases (+ cases where it was heard unrequested), after
        the totals: the share of requested kinds heard and the unrequested kinds heard per case (which of
        the two keeps Cat down: missing kinds or added ones); '' when no task has scenes."""
        lines = [
            f"{t.task}: {_kind_totals(t)}  " + "  ".join(f"{k} {c.heard}/{c.requested} +{c.unrequested}"
                                                     for k, c in t.kinds.items())
            for t in self.tasks
            if t.kinds
        ]
        return "\n".join(["kinds heard/requested (+heard unrequested):", *lines]) if lines else ""


def _kind_totals(task: TaskReport) -> str:
    """'heard 33/50 (66 %), 2.55 unrequested per case' over a task's kind tallies."""
    heard = sum(c.heard for c in task.kinds.values())
    requested = sum(c.requested for c in task.kinds.values())
    unrequested = sum(c.unrequested for c in task.kinds.values())
    share = f"{100 * heard / requested:.0f} %" if requested else "-"
    return f"heard {heard}/{requested} ({share}), {unrequested / max(task.num_items, 1):.2f} unrequested per case |"


def _cell(value, fmt: str) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "-"
    return f"{100 * value:.1f}" if fmt == "pct" else fmt.format(value)


# ----------------------------------------------------------------------------------------------- seams


def boundary_statistics(
    audio, sample_rate: int, time_s: float, *, window_s: float = BOUNDARY_WINDOW_S
) -> tuple[float, float]:
    """audio: (C, S) or (S,) -> (log-spectral distance in dB between the log-mel means of [t - w, t) and
    [t, t + w), peak spectral flux within +-20 ms of t above the clip's median flux, dB summed over bands).
    Levels more than 80 dB below the clip's peak are clipped, so silence next to silence is no seam."""
    spec = analyse_spectrum(audio, sample_rate)
    log_mel = np.maximum(spec.log_mel, spec.log_mel.max() - BOUNDARY_RANGE_DB)  # (M, T)
    frames = log_mel.shape[1]
    b, w = round(time_s / spec.hop_s), max(1, round(window_s / spec.hop_s))
    b = min(max(b, 1), frames - 1)
    before, after = log_mel[:, max(0, b - w) : b].mean(axis=1), log_mel[:, b : b + w].mean(axis=1)
    lsd = float(np.sqrt(np.mean((before - after) ** 2)))
    flux = np.concatenate([[0.0], np.maximum(np.diff(log_mel, axis=1), 0.0).sum(axis=0)])
    return lsd, float(flux[max(0, b - 2) : b + 3].max() - np.median(flux))


def _joined(case: BenchCase, output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(generated, truth) audio on which the seams lie: (C, S) as given, or for a continuation the prompt put
    back before the clip, mono (S,) (the model's channel count may differ from the prompt's)."""
    if case.prompt is None:
        return output, case.reference
    prompt = case.prompt.mean(dim=0)
    return torch.cat([prompt, output.mean(dim=0)]), torch.cat([prompt, case.reference.mean(dim=0)])


def seam_scores(cases: list[BenchCase], outputs: list[torch.Tensor]) -> dict[str, float]:
    """Mean boundary statistics over every seam of the cases (empty when no case has one)."""
    lsd, lsd_truth, flux_excess = [], [], []
    for case, output in zip(cases, outputs):
        generated, truth = _joined(case, output)
        for time_s in case.boundaries_s:
            g_lsd, g_flux = boundary_statistics(generated, case.sample_rate, time_s)
            t_lsd, t_flux = boundary_statistics(truth, case.sample_rate, time_s)
            lsd.append(g_lsd)
            lsd_truth.append(t_lsd)
            flux_excess.append(g_flux - t_flux)
    if not lsd:
        return {}
    return {
        "boundary_lsd_db": float(np.mean(lsd)),
        "boundary_lsd_truth_db": float(np.mean(lsd_truth)),
        "boundary_excess_db": float(np.mean(lsd) - np.mean(lsd_truth)),
        "boundary_flux_excess_db": float(np.mean(flux_excess)),
    }


# ---------------------------------------------------------------------------------------------- scoring


def _analysis_items(cases: list[BenchCase], outputs: list[torch.Tensor]) -> list[dict]:
    items = []
    for case, output in zip(cases, outputs):
        item = {"audio": output, "sample_rate": case.sample_rate, "labels": case.labels}
        if case.video is not None:
            item.update(video=case.video, video_fps=case.video_fps)
        items.append(item)
    return items


def score_task(
    task: str, cases: list[BenchCase], outputs: list[torch.Tensor], analyser: Analyser
) -> TaskReport:
    """outputs: one (C, S) generated clip per case -> the task's report."""
    report: EvaluationReport = evaluate_items(analyser, _analysis_items(cases, outputs))
    scores: dict[str, Any] = {}
    if report.instruction is not None:
        s = report.instruction
        scores.update(category=s.category, count=s.count, order=s.order, timestamp=s.timestamp)
        scores["kinds"] = report.kinds
    if report.num_videos:
        scores["sync_error_ms"] = report.sync_error_ms
    if report.num_music:
        scores.update(
            tempo_accuracy=report.tempo_accuracy,
            tempo_accuracy_octave=report.tempo_accuracy_octave,
            key_accuracy=report.key_accuracy,
        )
    scores.update(seam_scores(cases, outputs))
    return TaskReport(task=task, num_items=len(cases), **scores)


def generate_case(pipe: AudioGenerator, case: BenchCase) -> torch.Tensor:
    """The generator's (C, S) clip for one case (first of the batch), checked against the expected length."""
    output = pipe(case.request)
    expected = case.reference.shape[-1]
    if output.sample_rate != case.sample_rate or output.audio.ndim != 3 or output.audio.shape[-1] != expected:
        raise InputError(
            f"bench case {case.task}/{case.index}: got audio {tuple(output.audio.shape)} "
            f"at {output.sample_rate} Hz, "
            f"expected (B, C, {expected}) at {case.sample_rate} Hz"
        )
    return output.audio[0].float()


def run_cases(
    pipe: AudioGenerator,
    cases: dict[str, list[BenchCase]],
    analyser: Analyser,
    *,
    progress: Callable[[str], None] | None = None,
) -> tuple[TaskReport, ...]:
    """Generate every case, then score task by task."""
    reports = []
    for task, task_cases in cases.items():
        start = time.perf_counter()
        outputs = []
        for case in task_cases:
            if progress is not None:
                progress(f"{task} {case.index + 1}/{len(task_cases)}")
            outputs.append(generate_case(pipe, case))
        elapsed = (time.perf_counter() - start) / len(task_cases)
        report = score_task(task, task_cases, outputs, analyser)
        reports.append(_with_time(report, elapsed))
    return tuple(reports)


def _with_time(report: TaskReport, seconds: float) -> TaskReport:
    return replace(report, generate_s=seconds)


class TruthPipeline:
    """A fake generator that answers each case's request with its ground-truth render (B copies)."""

    def __init__(self, cases: dict[str, list[BenchCase]]) -> None:
        self._cases = [c for task_cases in cases.values() for c in task_cases]
        self.sample_rate = self._cases[0].sample_rate
        self.window_s = max(c.request.duration_s for c in self._cases)

    def case_of(self, request: GenerationRequest) -> BenchCase:
        """The case whose request this is (the same object)."""
        case = next((c for c in self._cases if c.request is request), None)
        if case is None:
            raise InputError(f"{type(self).__name__} only answers the requests of the bench set it was built from")
        return case

    def __call__(self, request: GenerationRequest) -> AudioOutput:
        return _answer(request, self.case_of(request))


def _answer(request: GenerationRequest, case: BenchCase) -> AudioOutput:
    """`case`'s ground-truth render as the output for `request` (B copies)."""
    audio = case.reference[None].expand(request.batch_size, -1, -1).clone()
    return AudioOutput(audio=audio, sample_rate=case.sample_rate, request=request)


class OtherTruthPipeline(TruthPipeline):
    """Answers each case with the ground truth of the next case of its task (the last one with the first): a
    perfect generator that ignores the instruction, the floor a model must clear to show it follows one."""

    def __init__(self, cases: dict[str, list[BenchCase]]) -> None:
        super().__init__(cases)
        short = [task for task, task_cases in cases.items() if len(task_cases) < 2]
        if short:
            raise InputError(f"an other-truth run needs >= 2 cases per task; {short} have fewer (raise --num)")
        self._tasks = cases

    def __call__(self, request: GenerationRequest) -> AudioOutput:
        case = self.case_of(request)
        task_cases = self._tasks[case.task]
        position = next(i for i, c in enumerate(task_cases) if c is case)
        return _answer(request, task_cases[(position + 1) % len(task_cases)])


class ReconstructionPipeline(TruthPipeline):
    """Answers each case with `pipe.reconstruct` of its ground-truth render (B copies)."""

    def __init__(self, cases: dict[str, list[BenchCase]], pipe) -> None:
        super().__init__(cases)
        self._pipe = pipe

    def __call__(self, request: GenerationRequest) -> AudioOutput:
        truth = super().__call__(request)
        audio = self._pipe.reconstruct(truth.audio[:1]).expand(request.batch_size, -1, -1).clone()
        return AudioOutput(audio=audio, sample_rate=truth.sample_rate, request=request)


def bench_duration_s(pipe: AudioGenerator | None, spec: BenchSpec) -> float:
    """The spec's duration, else the pipeline's window, at most 10 s (a truth run: 10 s)."""
    if spec.duration_s is not None:
        return spec.duration_s
    return MAX_BENCH_WINDOW_S if pipe is None else min(float(pipe.window_s), MAX_BENCH_WINDOW_S)


def run_bench(
    pipe: AudioGenerator | None,
    spec: BenchSpec,
    *,
    analyser: Analyser | None = None,
    sample_rate: int | None = None,
    workdir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    reconstruct: bool = False,
    other_truth: bool = False,
) -> BenchReport:
    """Build the spec's set at the pipeline's sample rate and window, generate, score. `pipe=None` scores the
    ground truth (`TruthPipeline`) at `sample_rate`; `reconstruct=True` scores the pipeline's VAE
    reconstructions of the ground truth (`ReconstructionPipeline`) instead of generations; `other_truth=True`
    (no pipeline) answers each case with another case's ground truth (`OtherTruthPipeline`). Media go to
    `workdir` (default: a temporary folder)."""
    if reconstruct and pipe is None:
        raise InputError("a reconstruction run needs a pipeline (its VAE reconstructs the ground truth)")
    if other_truth and pipe is not None:
        raise InputError("an other-truth run scores ground-truth renders; it takes no pipeline")
    if pipe is None and sample_rate is None:
        raise InputError("a truth run (no pipeline) needs a sample_rate")
    rate = pipe.sample_rate if pipe is not None else sample_rate
    duration = bench_duration_s(pipe, spec)
    analyser = analyser if analyser is not None else Analyser.trained()
    with tempfile.TemporaryDirectory(prefix="audiox_bench_") as scratch:
        cases = build_bench_set(spec, sample_rate=rate, duration_s=duration, workdir=workdir or scratch)
        generator = pipe if pipe is not None else OtherTruthPipeline(cases) if other_truth else TruthPipeline(cases)
        if reconstruct:
            generator = ReconstructionPipeline(cases, pipe)
        tasks = run_cases(generator, cases, analyser, progress=progress)
    settings = {
        "seed": spec.seed,
        "num_per_task": spec.num_per_task,
        "steps": spec.steps,
        "cfg_scale": spec.cfg_scale,
        "negative_text": spec.negative_text,
        "sample_rate": rate,
        "duration_s": duration,
        "video_size": spec.video_size,
        "video_fps": spec.video_fps,
        "generator": ("other truth" if other_truth else "truth") if pipe is None
        else "reconstruction" if reconstruct else type(pipe).__name__,
    }
    return BenchReport(tasks=tasks, settings=settings)
