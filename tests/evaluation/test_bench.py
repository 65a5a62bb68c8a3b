"""`audiox bench`: fixed-seed sets, end to end on tiny random pipelines, the truth-as-generator ceiling,
seams, CLI."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest
import torch

from audiox.errors import InputError
from audiox.evaluation import bench as bench_module
from audiox.evaluation.bench import (
    BenchReport,
    OtherTruthPipeline,
    ReconstructionPipeline,
    TaskReport,
    TruthPipeline,
    boundary_statistics,
    run_bench,
    run_cases,
    seam_scores,
)
from audiox.evaluation.bench_sets import (
    MUSIC_TASKS,
    TASKS,
    VIDEO_TASKS,
    BenchSpec,
    build_bench_set,
    case_generator,
)
from audiox.evaluation.instruction import KindTally
from audiox.media.video import read_video
from audiox.pipeline import AudioOutput
from audiox.synth.dataset import SynthConfig, item_generator
from audiox.synth.labels import MusicLabels, SceneLabels
from audiox.synth.video import render_still
from tests.tiny_pipelines import tiny_pipeline

T2A_CATEGORY_FLOOR = 0.15  # the shipped model scores 0.217 on these 4 cases (0.249 on the set before its seed fix)

SCENE_TASKS = tuple(t for t in TASKS if t not in MUSIC_TASKS)
SMALL = {"num_per_task": 1, "video_size": 16}


def small_set(tmp_path, seed=0, tasks=TASKS, rate=2048, duration=3.0, num=1):
    spec = BenchSpec(tasks=tasks, seed=seed, num_per_task=num, video_size=16)
    return build_bench_set(spec, sample_rate=rate, duration_s=duration, workdir=tmp_path)


def fingerprint(cases) -> list:
    return [
        (c.task, c.request.text, c.request.seed, c.request.inpaint, c.labels, float(c.reference.sum()))
        for task_cases in cases.values()
        for c in task_cases
    ]


# ------------------------------------------------------------------------------------------ the sets


def test_set_is_deterministic_per_seed(tmp_path):
    a, b = small_set(tmp_path / "a"), small_set(tmp_path / "b")
    assert fingerprint(a) == fingerprint(b)
    for task in VIDEO_TASKS:
        assert torch.equal(a[task][0].video, b[task][0].video)
    assert fingerprint(small_set(tmp_path / "c", seed=1)) != fingerprint(a)


def test_cases_never_reuse_a_training_world_item_stream():
    # numpy drops trailing zero seed words: [s, k, 0] once drew what world item k ([s, k]) draws
    for seed in (0, 1):
        world = {tuple(item_generator(SynthConfig(seed=seed), j).random(4)) for j in range(64)}
        for task in TASKS:
            for index in range(3):
                spec = BenchSpec(tasks=(task,), seed=seed)
                assert tuple(case_generator(spec, task, index).random(4)) not in world, (seed, task, index)


def test_cases_do_not_depend_on_other_tasks_or_on_num(tmp_path):
    alone = small_set(tmp_path / "a", tasks=("continuation",), num=2)
    full = small_set(tmp_path / "b")
    assert fingerprint({"c": alone["continuation"][:1]}) == fingerprint({"c": full["continuation"]})


def test_requests_fit_their_tasks(tmp_path):
    cases = {task: c[0] for task, c in small_set(tmp_path).items()}
    for task, case in cases.items():
        r = case.request
        assert isinstance(case.labels, MusicLabels if task in MUSIC_TASKS else SceneLabels)
        assert r.task == ("music" if task in MUSIC_TASKS else "audio")
        assert (r.video is not None) == (task in VIDEO_TASKS)
        assert (r.image is not None) == (task == "i2a")
        assert bool(r.text) == (task in ("t2a", "t2m", "tv2a", "inpaint", "continuation"))
        assert round(r.duration_s * case.sample_rate) == case.reference.shape[-1]
    inpaint = cases["inpaint"]
    start, end = inpaint.request.inpaint
    assert 0 < start < end < 3.0 and inpaint.boundaries_s == (start, end)
    assert any(start <= e.onset_s < end for e in inpaint.labels.events)
    cont = cases["continuation"]
    assert cont.prompt.shape[-1] + cont.reference.shape[-1] == round(3.0 * 2048)
    assert cont.boundaries_s == (cont.prompt.shape[-1] / 2048,)


def test_written_media_decode_to_the_rendered_frames(tmp_path):
    cases = small_set(tmp_path, tasks=("v2m", "i2a"))
    video = cases["v2m"][0]
    decoded = read_video(video.request.video, fps=25.0, duration_s=3.0, size=16)
    assert torch.equal(decoded, video.video)
    image = cases["i2a"][0]
    still = read_video(image.request.image, fps=1.0, duration_s=1.0, size=16)[0]
    assert torch.equal(still, render_still(image.labels, height=16, width=16))


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"tasks": ("t2x",)}, "unknown or no bench tasks"),
        ({"tasks": ()}, "unknown or no bench tasks"),
        ({"num_per_task": 0}, "num_per_task"),
        ({"duration_s": 1.0}, "too short"),
    ],
)
def test_spec_rejects_bad_values(fields, message):
    with pytest.raises(InputError, match=message):
        BenchSpec(**fields)


# --------------------------------------------------------------------------------------------- seams


def test_seam_statistic_sees_a_splice_and_not_a_continuous_tone():
    rate = 16000
    t = np.arange(2 * rate) / rate
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    spliced = tone.copy()
    spliced[rate:] = 0.3 * np.random.default_rng(0).standard_normal(rate)
    smooth_lsd, smooth_flux = boundary_statistics(tone, rate, 1.0)
    seam_lsd, seam_flux = boundary_statistics(spliced, rate, 1.0)
    assert smooth_lsd < 1.0 and seam_lsd > 10.0
    assert seam_flux > smooth_flux + 10.0


def test_seam_scores_are_zero_for_the_truth_and_positive_for_a_splice(tmp_path):
    cases = small_set(tmp_path, tasks=("continuation",), rate=16000)["continuation"]
    truth = seam_scores(cases, [c.reference for c in cases])
    assert truth["boundary_excess_db"] == 0.0 and truth["boundary_flux_excess_db"] == 0.0
    noise = [0.3 * torch.randn(c.reference.shape, generator=torch.Generator().manual_seed(0)) for c in cases]
    assert seam_scores(cases, noise)["boundary_excess_db"] > 3.0


# ------------------------------------------------------------------------------------ whole bench


def in_range(report) -> None:
    """Applicable scores are finite and in range; the others are nan."""
    scene, music, video, seam = (
        report.task in SCENE_TASKS,
        report.task in MUSIC_TASKS,
        report.task in VIDEO_TASKS,
        report.task in ("inpaint", "continuation"),
    )
    for name, applies, low, high in [
        ("category", scene, 0, 1),
        ("count", scene, 0, 1),
        ("order", scene, 0, 1),
        ("timestamp", scene, 0, 1),
        ("sync_error_ms", video, 0, 1000),
        ("tempo_accuracy", music, 0, 1),
        ("tempo_accuracy_octave", music, 0, 1),
        ("key_accuracy", music, 0, 1),
        ("boundary_excess_db", seam, -200, 200),
        ("boundary_flux_excess_db", seam, -1e4, 1e4),
        ("boundary_lsd_db", seam, 0, 200),
    ]:
        value = getattr(report, name)
        assert (low <= value <= high) if applies else math.isnan(value), (report.task, name, value)


@pytest.fixture(scope="module")
def tiny_dit():
    return tiny_pipeline("dit")


@pytest.mark.parametrize("task", TASKS)
def test_reduced_set_runs_end_to_end_on_a_tiny_pipeline(tiny_dit, analyser, task):
    report = run_bench(tiny_dit, BenchSpec(tasks=(task,), steps=1, **SMALL), analyser=analyser)
    assert [t.task for t in report.tasks] == [task] and report.tasks[0].num_items == 1
    assert report.settings["sample_rate"] == 2048 and report.settings["duration_s"] == 10.0
    in_range(report.tasks[0])
    assert task in report.table()


@pytest.mark.slow
def test_reduced_set_runs_end_to_end_on_a_tiny_mmdit(analyser):
    report = run_bench(tiny_pipeline("mmdit"), BenchSpec(steps=1, duration_s=4.0, **SMALL), analyser=analyser)
    assert [t.task for t in report.tasks] == list(TASKS)
    for task_report in report.tasks:
        in_range(task_report)


@pytest.mark.parametrize("task", TASKS)
def test_truth_as_generator_scores_near_perfect(analyser, task):
    """The ground-truth render through the whole bench: proves requests, outputs and labels line up. Four cases
    and margins for one analyser miss (the session's analyser is trained on fewer examples than the CLI's)."""
    spec = BenchSpec(tasks=(task,), num_per_task=4, video_size=32)
    report = run_bench(None, spec, analyser=analyser, sample_rate=16000).tasks[0]
    in_range(report)
    if task in SCENE_TASKS:
        scores = (report.category, report.count, report.order, report.timestamp)
        assert report.category >= 0.7 and sum(scores) / 4 >= 0.75, scores
    if task in VIDEO_TASKS:
        assert report.sync_error_ms < 30.0
    if task in MUSIC_TASKS:  # tempo within 4 % (up to a factor 2: >= 3 of 4); the key estimator's ceiling is ~80 %
        assert report.tempo_accuracy_octave >= 0.75 and report.tempo_accuracy >= 0.5 and report.key_accuracy >= 0.25
    if task in ("inpaint", "continuation"):
        assert report.boundary_excess_db == 0.0 and report.boundary_flux_excess_db == 0.0


class NoiseGenerator:
    """Answers every request with quiet white noise of the requested length: the bench must score it low."""

    sample_rate, window_s = 16000, 10.0

    def __call__(self, request):
        shape = (request.batch_size, 2, round(request.duration_s * self.sample_rate))
        audio = 0.05 * torch.randn(shape, generator=torch.Generator().manual_seed(request.seed))
        return AudioOutput(audio=audio, sample_rate=self.sample_rate, request=request)


def test_a_noise_generator_scores_low(analyser):
    spec = BenchSpec(tasks=("tv2a", "t2m"), num_per_task=2, video_size=32)
    report = run_bench(NoiseGenerator(), spec, analyser=analyser)
    assert report.task("tv2a").category < 0.5 and report.task("tv2a").sync_error_ms > 100.0
    assert report.task("t2m").tempo_accuracy < 0.5 and report.task("t2m").key_accuracy < 0.5


class SpliceGenerator(TruthPipeline):
    """A bad inpainter: the truth with the gap replaced by loud noise (audible seams at both ends)."""

    def __call__(self, request):
        out = super().__call__(request)
        start, end = (round(s * out.sample_rate) for s in request.inpaint)
        audio = out.audio.clone()
        audio[..., start:end] = 0.5 * torch.randn(
            audio[..., start:end].shape, generator=torch.Generator().manual_seed(0)
        )
        return AudioOutput(audio=audio, sample_rate=out.sample_rate, request=request)


def test_a_spliced_inpainting_shows_seams(analyser, tmp_path):
    cases = build_bench_set(
        BenchSpec(tasks=("inpaint",), num_per_task=2), sample_rate=16000, duration_s=6.0, workdir=tmp_path
    )
    report = run_cases(SpliceGenerator(cases), cases, analyser)[0]
    assert report.boundary_excess_db > 3.0 and report.boundary_flux_excess_db > 50.0


def test_truth_pipeline_refuses_requests_it_was_not_built_from(tmp_path):
    cases = small_set(tmp_path, tasks=("t2a",))
    with pytest.raises(InputError, match="only answers"):
        TruthPipeline(cases)(cases["t2a"][0].request.replace(seed=1))


def test_other_truth_answers_with_the_next_case_and_scores_below_the_truth(analyser, tmp_path):
    cases = small_set(tmp_path, tasks=("t2a", "v2a"), rate=16000, duration=10.0, num=4)
    other = OtherTruthPipeline(cases)
    for task_cases in cases.values():
        for i, case in enumerate(task_cases):
            answer = other(case.request).audio[0]
            assert torch.equal(answer, task_cases[(i + 1) % 4].reference)
    spec = BenchSpec(tasks=("t2a",), num_per_task=4, video_size=16)
    truth = run_bench(None, spec, analyser=analyser, sample_rate=16000).tasks[0]
    wrong = run_bench(None, spec, analyser=analyser, sample_rate=16000, other_truth=True)
    assert wrong.settings["generator"] == "other truth"
    assert wrong.tasks[0].category < truth.category and wrong.tasks[0].timestamp < 0.5
    with pytest.raises(InputError, match="takes no pipeline"):
        run_bench(FakeVae(True), spec, analyser=analyser, other_truth=True)


class FakeVae:
    """A pipeline stand-in whose `reconstruct` is the identity (a perfect VAE) or silence (a broken one)."""

    sample_rate, window_s = 16000, 10.0

    def __init__(self, perfect: bool) -> None:
        self.perfect, self.calls = perfect, 0

    def reconstruct(self, audio):
        self.calls += 1
        return audio.mean(dim=1, keepdim=True) if self.perfect else torch.zeros_like(audio[:, :1])


def test_reconstruction_run_scores_what_the_vae_gives_back(analyser):
    spec = BenchSpec(tasks=("t2a",), num_per_task=2, video_size=32)
    perfect, broken = FakeVae(True), FakeVae(False)
    good = run_bench(perfect, spec, analyser=analyser, reconstruct=True)
    bad = run_bench(broken, spec, analyser=analyser, reconstruct=True)
    assert perfect.calls == broken.calls == 2 and good.settings["generator"] == "reconstruction"
    assert good.task("t2a").category >= 0.75 and bad.task("t2a").category == 0.0


def test_reconstruction_needs_a_pipeline_and_only_answers_its_set(tmp_path):
    with pytest.raises(InputError, match="needs a pipeline"):
        run_bench(None, BenchSpec(tasks=("t2a",), **SMALL), sample_rate=16000, reconstruct=True)
    cases = small_set(tmp_path, tasks=("t2a",))
    with pytest.raises(InputError, match="only answers"):
        ReconstructionPipeline(cases, FakeVae(True))(cases["t2a"][0].request.replace(seed=1))


def test_pipeline_reconstruct_keeps_length_and_uses_the_posterior_mean(tiny_dit):
    audio = 0.1 * torch.randn(2, 2, 3000, generator=torch.Generator().manual_seed(0))
    out = tiny_dit.reconstruct(audio)
    channels = tiny_dit.model.pretransform.io_channels
    assert out.shape == (2, channels, 3000) and torch.isfinite(out).all()
    assert torch.equal(out, tiny_dit.reconstruct(audio))  # the mean: no random draw
    with pytest.raises(InputError, match="expected"):
        tiny_dit.reconstruct(audio[0])


def test_wrong_output_length_is_an_error(analyser):
    class Short(NoiseGenerator):
        def __call__(self, request):
            out = super().__call__(request)
            return AudioOutput(audio=out.audio[..., :-1], sample_rate=out.sample_rate, request=request)

    with pytest.raises(InputError, match="expected"):
        run_bench(Short(), BenchSpec(tasks=("t2a",), **SMALL), analyser=analyser)


# ----------------------------------------------------------------------------------------------- CLI


def cli_args(*argv: str) -> argparse.Namespace:
    from audiox.cli import bench as cli

    parser = argparse.ArgumentParser()
    parser.add_argument("--quiet", action="store_true")
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_cli_truth_run_prints_a_table_and_writes_json(analyser, monkeypatch, tmp_path, capsys):
    from audiox.cli import bench as cli

    monkeypatch.setattr(bench_module.Analyser, "trained", classmethod(lambda cls: analyser))
    out = tmp_path / "r.json"
    args = cli_args(
        "--truth",
        "--tasks",
        "t2a,continuation",
        "--num",
        "1",
        "--video-size",
        "16",
        "--json",
        str(out),
        "--quiet",
    )
    assert cli.run(args) == 0
    table = capsys.readouterr().out
    assert "t2a" in table and "continuation" in table and "Cat%" in table
    data = json.loads(out.read_text())
    assert data["settings"]["model"] == "truth" and [t["task"] for t in data["tasks"]] == [
        "t2a",
        "continuation",
    ]
    assert data["tasks"][0]["tempo_accuracy"] is None and data["tasks"][0]["category"] == 1.0
    kinds = data["tasks"][0]["kinds"]  # the truth: every requested kind heard, nothing else
    assert kinds and all(k["heard"] == k["requested"] > 0 and k["unrequested"] == 0 for k in kinds.values())
    assert data["tasks"][1]["kinds"] == {} and "kinds heard/requested" in table
    requested = sum(k["requested"] for k in kinds.values())
    assert f"t2a: heard {requested}/{requested} (100 %), 0.00 unrequested per case |" in table
    assert f"{min(kinds)} 1/1 +0" in table


def test_kinds_table_totals_split_missing_from_added_kinds():
    tallies = {"bell": KindTally(requested=2, heard=1, unrequested=3), "knock": KindTally(requested=2, heard=2)}
    scenes, music = TaskReport(task="t2a", num_items=4, kinds=tallies), TaskReport(task="t2m", num_items=4)
    report = BenchReport(tasks=(scenes, music))
    lines = report.kinds_table().splitlines()
    assert lines[1] == "t2a: heard 3/4 (75 %), 0.75 unrequested per case |  bell 1/2 +3  knock 2/2 +0"
    assert len(lines) == 2  # no line for a task without scenes


@pytest.mark.parametrize(
    "argv, message",
    [
        (("--truth", "--tasks", "t2a,x2y"), "unknown task"),
        (("--truth", "--num", "0"), "num_per_task"),
        (("--truth", "--reconstruct"), "cannot be combined"),
        (("--other-truth", "--reconstruct"), "cannot be combined"),
        (("--other-truth", "--tasks", "t2a", "--num", "1"), ">= 2 cases per task"),
    ],
)
def test_cli_bad_arguments(argv, message):
    from audiox.cli import bench as cli

    with pytest.raises(InputError, match=message):
        cli.run(cli_args(*argv))


def test_cli_runs_a_saved_model_folder(tiny_model_dir, analyser, monkeypatch, tmp_path):
    from audiox.cli import bench as cli

    monkeypatch.setattr(bench_module.Analyser, "trained", classmethod(lambda cls: analyser))
    out = tmp_path / "r.json"
    args = cli_args(
        "--model",
        str(tiny_model_dir),
        "--tasks",
        "v2a,continuation",
        "--num",
        "1",
        "--steps",
        "1",
        "--video-size",
        "16",
        "--json",
        str(out),
        "--quiet",
    )
    assert cli.run(args) == 0
    data = json.loads(out.read_text())
    assert data["settings"]["sample_rate"] == 2048 and data["settings"]["model"] == str(tiny_model_dir)
    assert 0.0 <= data["tasks"][0]["sync_error_ms"] <= 1000.0 and data["tasks"][1]["key_accuracy"] in (
        0.0,
        1.0,
    )


@pytest.mark.slow
def test_cli_bench_on_the_shipped_model_reduced_set(analyser, monkeypatch, tmp_path):
    """The CI bench: the shipped model (no --model) on a reduced T2A + V2A set, with its default sampler.
    The floor guards against regressions of the current model (it is NOT the issue's 70 % target, which
    the model does not reach yet); the full figures are in the README."""
    from audiox.cli import bench as cli

    monkeypatch.setattr(bench_module.Analyser, "trained", classmethod(lambda cls: analyser))
    out = tmp_path / "r.json"
    assert cli.run(cli_args("--tasks", "t2a,v2a", "--num", "4", "--json", str(out), "--quiet")) == 0
    data = json.loads(out.read_text())
    t2a, v2a = data["tasks"]
    assert data["settings"]["model"] == "shipped" and data["settings"]["sample_rate"] == 16000
    assert t2a["task"] == "t2a" and t2a["category"] >= T2A_CATEGORY_FLOOR
    assert v2a["task"] == "v2a" and v2a["sync_error_ms"] is not None
