"""Issue 18's proof: distil a model folder (default: the shipped own model) into a 4-step student on the
synthetic world (--recipe trajectory: regression onto the teacher's own ODE paths, the default; or dmd: the
Turbo recipe), then bench the teacher (its default sampler) against the student (its 4 steps, no CFG) on the
same cases, and print the table. One command; rerunning it continues where it stopped.

    python benchmarks/distill_own.py --out runs/distill                            (the shipped model)
    python benchmarks/distill_own.py --teacher runs/own/model --out runs/distill-new      (another teacher)
    python benchmarks/distill_own.py --out runs/pilot --items 16 --steps 20 --num 0       (a pilot: no bench)
    python benchmarks/distill_own.py --out runs/distill --student-decoder 16      (the student gets a lighter decoder)

Stages (each resumes; OUT/teacher.json pins the teacher, and another teacher in the same OUT is refused):
  1. OUT/cache  --items synthetic training examples (`audiox train-own`'s world 0 and task mix) encoded by
                the teacher's frozen encoders (`audiox encode-dataset`);
  2. OUT/proof  `audiox distill` with the --recipe's settings (RECIPES, + --set overrides), continuing from
                last.ckpt (the trajectory recipe first writes OUT/proof/teacher_paths, the teacher's paths);
                the student lands in OUT/proof/export/final;
  2b. with --student-decoder CH: OUT/decoderCH  a CH-channel VAE decoder trained for --decoder-steps on the
                teacher's frozen encoder to give what the teacher's decoder gives (`audiox train-own
                --decoder-only --decoder-distill`, resumable); the student with it in place of the teacher's
                decoder: OUT/proof/export/final_decoderCH (`own_decoder.swap_decoder`);
  3. OUT/bench  every case of `audiox bench --tasks TASKS --num N --seed 0`, generated one right after the
                other (the order rotates) by the teacher (its default sampler), the student (its default: 4
                steps, no CFG) and the teacher cut to 4 steps (what distillation must beat), each call timed (wall and
                this process's CPU seconds, so the speed-up holds on a busy machine), saved per case;
  4. the table: Cat / Cnt / Ord / TS (and V2A sync) per task for each, the student's largest drop below the
                teacher, seconds per clip and the speed-up; also OUT/report.json.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch
from proof_run import log, pin_model

# CPU-sized (hundreds of steps, not the official tens of thousands). "dmd": the official lr 1e-5 (a first
# run at 1e-4 collapsed), a short warm-up, 5 fake-score updates per student update (DMD2 trains the fake
# score more often than the student), teacher CFG 6 as the teacher's own default. "trajectory": no DMD term,
# no discriminator: the regression onto the teacher's own 25-step CFG-6 Euler paths (`regression_target`
# next, `training.teacher_paths`), lr 1e-4; its student samples with 4 deterministic Euler steps.
COMMON = ["run.batch_size=8", "run.checkpoint_every_n_steps=20", "run.log_every_n_steps=5", "scheduler.warmup=0.9",
          "teacher_guidance_scale=6.0"]
RECIPES = {
    "dmd": [*COMMON, "optimizer.lr=1e-5", "update_ratio_s_f=1", "fake_updates_per_cycle=5"],
    "trajectory": [*COMMON, "optimizer.lr=1e-4", "regression_loss_weight=1", "regression_target=next",
                   "dmd_loss_weight=0", "use_gan=false"],
}
MODELS = ("teacher", "student", "teacher4")
SCORES = (("Cat", "category"), ("Cnt", "count"), ("Ord", "order"), ("TS", "timestamp"))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teacher", type=Path, default=None, help="teacher model folder (default: the shipped one)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--items", type=int, default=512, help="cached synthetic training examples")
    p.add_argument("--steps", type=int, default=1500, help="distillation optimizer steps")
    p.add_argument("--recipe", choices=sorted(RECIPES), default="trajectory",
                   help="distillation settings (RECIPES; default: trajectory)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="DistillConfig override on top of the recipe (repeatable)")
    p.add_argument("--tasks", default="t2a,v2a,tv2a", help="bench tasks")
    p.add_argument("--num", type=int, default=20, help="bench cases per task (0: no bench)")
    p.add_argument("--student-decoder", type=int, default=None, metavar="CH",
                   help="give the student a CH-channel VAE decoder (the teacher's decode is most of a 4-step clip)")
    p.add_argument("--decoder-steps", type=int, default=3000, help="training steps of the --student-decoder")
    return p.parse_args()


def build_cache(teacher: Path, cache: Path, items: int) -> None:
    """Stage 1 (skipped when OUT/cache/index.json exists)."""
    if (cache / "index.json").is_file():
        return
    from audiox.pipeline.load import load_pipeline
    from audiox.synth.own_training import OWN_TASK_WEIGHTS
    from audiox.synth.training_data import SynthTrainingDataset, synth_training_config
    from audiox.training.encode_dataset import encode_dataset

    model = load_pipeline(teacher).model
    cfg = synth_training_config(model, seed=0, world_seed=0, length=items, music_prob=0.25,
                                task_weights=OWN_TASK_WEIGHTS, random_sign_flip=False)
    started = time.process_time()
    encode_dataset(model, SynthTrainingDataset(cfg), cache, batch_size=8)
    log(f"cache: {items} items, {time.process_time() - started:.0f} CPU s")


def step_logger():
    """A Lightning callback that logs each optimizer step's losses and the process CPU seconds it took."""
    import lightning.pytorch as pl

    class StepLog(pl.Callback):
        def __init__(self) -> None:
            self.cpu = time.process_time()

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
            now = time.process_time()
            losses = {k.split("/")[-1]: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("train/")}
            text = " ".join(f"{k} {v:.4f}" for k, v in sorted(losses.items()))
            log(f"step {trainer.global_step}: {text} ({now - self.cpu:.1f} CPU s)")
            self.cpu = now

    return StepLog()


def run_distill(teacher: Path, cache: Path, run_dir: Path, steps: int, settings: list[str]) -> Path:
    """Stage 2 (skipped when OUT/proof/done.json records `steps`); returns the student folder."""
    student = run_dir / "export" / "final"
    done = run_dir / "done.json"
    if done.is_file() and json.loads(done.read_text())["steps"] == steps and student.is_dir():
        return student
    from audiox.training.config import load_train_config
    from audiox.training.distill_config import DistillConfig
    from audiox.training.distill_module import distill

    cfg = load_train_config(DistillConfig, None, [*settings, f"run.max_steps={steps}"])
    last = run_dir / "checkpoints" / "last.ckpt"
    started = time.process_time()
    distill(teacher, cfg, cache, run_dir, resume=last if last.is_file() else None, callbacks=[step_logger()])
    log(f"distill: {steps} steps done ({time.process_time() - started:.0f} CPU s in this call)")
    done.write_text(json.dumps({"steps": steps, "settings": settings}))
    return student


def light_decoder(teacher: Path, student: Path, out: Path, channels: int, steps: int) -> Path:
    """Stage 2b: a `channels`-wide decoder distilled from the teacher's (OUT/decoderCH, resumable), swapped
    into the student; returns the student folder with it."""
    from audiox.synth.own_decoder import swap_decoder, train_decoder_only
    from audiox.synth.own_training import OwnRecipe, recipe_with

    recipe = recipe_with(OwnRecipe(), vae_from=str(teacher), decoder_channels=channels, decoder_steps=steps,
                         decoder_distill=True)
    started = time.process_time()
    decoder = train_decoder_only(out / f"decoder{channels}", recipe)
    log(f"decoder {channels} ch: {steps} steps ({time.process_time() - started:.0f} CPU s in this call)")
    return swap_decoder(student, decoder, student.with_name(f"{student.name}_decoder{channels}"))


def timed(pipe, case) -> tuple[torch.Tensor, float, float, dict]:
    """(the generated (C, S) clip, wall seconds, CPU seconds of this process, wall seconds per pipeline
    stage: conditioners / prepare / steps / decode, from the pipe's `StageClock`)."""
    from audiox.evaluation.bench import generate_case

    pipe.clock.reset()
    wall, cpu = time.perf_counter(), time.process_time()
    audio = generate_case(pipe, case)
    return audio, time.perf_counter() - wall, time.process_time() - cpu, dict(pipe.clock.seconds)


def model_case(name: str, case):
    """The case as model `name` gets it: "teacher4" is the teacher at the student's 4 steps (its own sampler
    and CFG), what distillation must beat."""
    return replace(case, request=replace(case.request, steps=4)) if name == "teacher4" else case


def generate_pair(pipes: dict, case, path: Path, student_tag: str) -> dict:
    """Every model on one case (which goes first rotates with the case index), saved to `path` (atomically);
    a saved record is reused, and only the models it lacks run: a record of an earlier student (another
    `student_tag`: the distillation continued) keeps its teacher figures and gets the new student's."""
    record = torch.load(path, weights_only=True) if path.is_file() else {}
    if record.get("student_tag") != student_tag:
        record = {k: v for k, v in record.items() if not k.startswith("student")}
        record["student_tag"] = student_tag
    shift = case.index % len(MODELS)
    missing = [name for name in MODELS[shift:] + MODELS[:shift] if name not in record]
    if not missing:
        return record
    for name in missing:
        audio, wall, cpu, stages = timed(pipes[name], model_case(name, case))
        record.update({name: audio, f"{name}_wall_s": wall, f"{name}_cpu_s": cpu, f"{name}_stages": stages})
    tmp = path.with_name(path.name + ".tmp")
    torch.save(record, tmp)
    tmp.replace(path)
    return record


def run_bench(
    teacher: Path, student: Path, bench_dir: Path, tasks: str, num: int, student_tag: str
) -> tuple[dict, dict]:
    """Stage 3: ({task: {"teacher": TaskReport, "student": TaskReport, "records": [per-case dicts]}},
    {"teacher" / "student": the model's default sampler in words, for the table})."""
    from audiox.cli.bench import parse_tasks
    from audiox.evaluation.analyser import Analyser
    from audiox.evaluation.bench import bench_duration_s, score_task
    from audiox.evaluation.bench_sets import BenchSpec, build_bench_set
    from audiox.pipeline import AudioX
    from audiox.pipeline.stage_clock import StageClock

    pipes = {"teacher": AudioX.from_pretrained(teacher), "student": AudioX.from_pretrained(student)}
    pipes["teacher4"] = pipes["teacher"]
    for pipe in pipes.values():
        pipe.clock = StageClock()
    spec = BenchSpec(tasks=parse_tasks(tasks), num_per_task=num, seed=0)
    duration = bench_duration_s(pipes["teacher"], spec)
    cases = build_bench_set(spec, sample_rate=pipes["teacher"].sample_rate, duration_s=duration,
                            workdir=bench_dir / "media")
    analyser = Analyser.trained()
    results = {}
    for task, task_cases in cases.items():
        records = []
        for case in task_cases:
            records.append(generate_pair(pipes, case, bench_dir / f"{task}_{case.index:03d}.pt", student_tag))
            log(f"bench {task} {case.index + 1}/{len(task_cases)}: CPU s " +
                ", ".join(f"{name} {records[-1][f'{name}_cpu_s']:.1f}" for name in MODELS))
        results[task] = {name: score_task(task, task_cases, [r[name] for r in records], analyser)
                         for name in MODELS}
        results[task]["records"] = records
    labels = {name: sampler_label(pipes[name].defaults) for name in ("teacher", "student")}
    return results, labels


def sampler_label(defaults) -> str:
    return f"{defaults.sampler} {defaults.steps} steps, CFG {defaults.cfg_scale:g}"


def percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.1f}"


def scores(report) -> str:
    return " / ".join(percent(getattr(report, f)) for _, f in SCORES)


def timing_line(results: dict) -> str:
    """Seconds per clip of each model (wall median, CPU mean) and the student's speed-up."""
    records = [rec for r in results.values() for rec in r["records"]]
    wall = {n: statistics.median(rec[f"{n}_wall_s"] for rec in records) for n in MODELS}
    cpu = {n: statistics.mean(rec[f"{n}_cpu_s"] for rec in records) for n in MODELS}
    each = "; ".join(f"{n} {wall[n]:.2f} s wall (median) / {cpu[n]:.2f} CPU s (mean)" for n in MODELS)
    line = (f"per clip, end to end ({len(records)} clips each, one process, interleaved): {each}; student "
            f"speed-up over the teacher {wall['teacher'] / wall['student']:.1f}x wall, "
            f"{cpu['teacher'] / cpu['student']:.1f}x CPU")
    staged = [rec for rec in records if all(f"{n}_stages" in rec for n in MODELS)]
    if staged:
        parts = []
        for n in MODELS:
            names = sorted({k for rec in staged for k in rec[f"{n}_stages"]})
            means = {k: statistics.mean(rec[f"{n}_stages"].get(k, 0.0) for rec in staged) for k in names}
            parts.append(f"{n} " + ", ".join(f"{k} {v:.3f}" for k, v in means.items()))
        line += f"\nwall s per clip by stage (mean of {len(staged)}): " + "; ".join(parts)
    return line


def table(results: dict, teacher_label: str, student_label: str) -> str:
    """The Markdown table of stage 4 plus the timing line."""
    lines = [
        (f"| task | n | teacher ({teacher_label}) | student ({student_label}) | largest drop (points) "
         "| teacher at 4 steps, not distilled | sync ms teacher / student / 4-step teacher |"),
        "|---|---|---|---|---|---|---|",
    ]
    for task, r in results.items():
        t, s, t4 = r["teacher"], r["student"], r["teacher4"]
        drop = max(100 * (getattr(t, f) - getattr(s, f)) for _, f in SCORES)
        sync = "" if math.isnan(t.sync_error_ms) else " / ".join(f"{x.sync_error_ms:.0f}" for x in (t, s, t4))
        lines.append(f"| {task} | {t.num_items} | {scores(t)} | {scores(s)} | {drop:+.1f} | {scores(t4)} | {sync} |")
    return "\n".join([*lines, "", "(Cat / Cnt / Ord / TS %)", timing_line(results)])


def write_report(path: Path, results: dict, text: str) -> None:
    from dataclasses import asdict

    data = {"table": text, "tasks": {}}
    for task, r in results.items():
        data["tasks"][task] = {name: {k: v for k, v in asdict(r[name]).items() if k != "kinds"}
                               for name in MODELS}
        data["tasks"][task]["timing"] = [{k: v for k, v in rec.items() if k.endswith(("_s", "_stages"))}
                                         for rec in r["records"]]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=float))
    tmp.replace(path)


def main() -> None:
    from audiox.pipeline.load import default_model_dir

    args = parse_args()
    teacher = args.teacher if args.teacher is not None else default_model_dir()
    pin_model(teacher, args.out, "teacher")
    wall, cpu = time.perf_counter(), time.process_time()
    build_cache(teacher, args.out / "cache", args.items)
    settings = [*RECIPES[args.recipe], *args.overrides]
    student = run_distill(teacher, args.out / "cache", args.out / "proof", args.steps, settings)
    tag = (args.out / "proof" / "done.json").read_text()
    if args.student_decoder is not None:
        student = light_decoder(teacher, student, args.out, args.student_decoder, args.decoder_steps)
        tag += f" decoder {args.student_decoder} x {args.decoder_steps}"
    log(f"student: {student}")
    if args.num > 0:
        results, labels = run_bench(teacher, student, args.out / "bench", args.tasks, args.num, tag)
        text = table(results, labels["teacher"], labels["student"])
        write_report(args.out / "report.json", results, text)
        print(text)
    log(f"this call: {(time.perf_counter() - wall) / 60:.1f} min wall, {(time.process_time() - cpu) / 60:.1f} CPU min")


if __name__ == "__main__":
    main()
