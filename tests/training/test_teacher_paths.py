"""Teacher ODE paths and the regression term of distillation (the original DMD's regression loss)."""

from __future__ import annotations

import copy
from functools import partial

import pytest
import torch

from audiox.diffusion.denoiser import flow_velocity
from audiox.diffusion.guidance import apply_cfg
from audiox.errors import ConfigError
from audiox.sampling.flow_solvers import sample_rf_euler
from audiox.sampling.schedules import timesteps_rectified_flow
from audiox.training.config import load_train_config
from audiox.training.distill_config import NO_MASKING, DistillConfig
from audiox.training.distill_dmd import regression_targets, x0_predictor
from audiox.training.distill_module import DmdTrainingModule, dmd_generation_defaults, teacher_path_dataset
from audiox.training.encode_dataset import CachedDataset, encode_dataset
from audiox.training.fit import build_training_model, manifest_dataset
from audiox.training.lightning_module import target_and_context
from audiox.training.schedules import build_optimizer
from audiox.training.teacher_paths import (
    TeacherPathDataset,
    euler_path_points,
    item_condition,
    write_teacher_paths,
)
from tests.training.tiny_data import write_tiny_dataset

REG_ONLY = ["data.random_crop=false", "data.random_sign_flip=false","regression_loss_weight=1", "dmd_loss_weight=0", "use_gan=false", "teacher_path_steps=8",
            "optimizer.lr=1e-3", "scheduler.warmup=0"]


def test_euler_path_points_reads_the_piecewise_linear_path_exactly():
    target, noise = torch.randn(2, 3, 5), torch.randn(2, 3, 5)

    def point_mass(z, t):  # the flow of a point mass at `target`: Euler follows the straight line exactly
        return (z - target) / t[:, None, None]

    ts = torch.linspace(1, 0, 7)  # 6 steps: 0.75 / 0.5 / 0.25 fall inside steps, not on the grid
    query = torch.tensor([1.0, 0.75, 0.5, 0.25])
    points = euler_path_points(point_mass, noise, ts, query)
    assert points.shape == (2, 5, 3, 5)
    for q, t in enumerate(query.tolist()):
        torch.testing.assert_close(points[:, q], (1 - t) * target + t * noise)
    torch.testing.assert_close(points[:, -1], target)
    bent = euler_path_points(lambda z, t: z * t[:, None, None], noise, ts, query)  # a curved field
    end = sample_rf_euler(lambda z, t: z * t[:, None, None], noise, ts)
    torch.testing.assert_close(bent[:, -1], end)  # the end is the Euler sample itself
    with pytest.raises(ConfigError, match="outside the grid"):
        euler_path_points(point_mass, noise, ts, torch.tensor([1.5]))


@pytest.fixture(scope="module")
def cache_setup(tmp_path_factory):
    torch.manual_seed(0)
    built = build_training_model(model_config="tiny-mmdit")
    model = built.model.eval()
    manifest = write_tiny_dataset(tmp_path_factory.mktemp("data"), num_items=3)
    cfg = load_train_config(DistillConfig, None, REG_ONLY)
    cache = tmp_path_factory.mktemp("cache")
    encode_dataset(model, manifest_dataset(model, cfg, manifest), cache, batch_size=2)
    return model, cache, manifest, cfg


def test_paths_end_in_the_teachers_own_sample_and_resume(cache_setup, tmp_path):
    model, cache, _, _ = cache_setup
    teacher = copy.deepcopy(model.backbone)
    dataset = CachedDataset(cache)
    paths = write_teacher_paths(model, teacher, dataset, tmp_path / "p", student_steps=4, teacher_steps=8,
                                guidance=3.0, seed=5, batch_size=2)
    data = TeacherPathDataset(cache, paths)
    batch = data.collate([data[0], data[2]])
    assert batch["teacher_path"].shape[:2] == (2, 5)
    pairs = [item_condition(model, dataset, i, 5) for i in (0, 2)]  # as in the writer's batch [0, 1], [2]
    context, noise = torch.cat([c for c, _ in pairs]), torch.cat([n for _, n in pairs])
    torch.testing.assert_close(batch["teacher_path"][:, 0], noise)  # t = 1: the noise itself
    velocity = flow_velocity(partial(apply_cfg, teacher, context=context, cfg_scale=3.0), model.objective)
    with torch.no_grad():
        sample = sample_rf_euler(velocity, noise, timesteps_rectified_flow(8))  # the teacher's sampler
    torch.testing.assert_close(batch["teacher_path"][:, -1], sample, rtol=1e-4, atol=1e-5)
    # an interrupted run continues: a lost chunk is made again, identical
    first = (paths / "paths_000000.safetensors").read_bytes()
    (paths / "paths_000000.safetensors").unlink()
    write_teacher_paths(model, teacher, dataset, paths, student_steps=4, teacher_steps=8, guidance=3.0, seed=5,
                        batch_size=2)  # the same settings as the interrupted run
    assert (paths / "paths_000000.safetensors").read_bytes() == first
    other = copy.deepcopy(teacher)
    with torch.no_grad():
        next(other.parameters()).add_(1.0)
    with pytest.raises(ConfigError, match="another teacher"):
        write_teacher_paths(model, other, dataset, paths, student_steps=4, teacher_steps=8, guidance=3.0, seed=5)


def test_regression_loss_is_the_formula_and_pulls_the_student_to_the_teacher(cache_setup, tmp_path):
    model, cache, _, cfg = cache_setup
    student = copy.deepcopy(model)
    teacher = copy.deepcopy(model.backbone)
    data = teacher_path_dataset(student, teacher, CachedDataset(cache), cfg, tmp_path / "p")
    module = DmdTrainingModule(student, teacher, cfg).train()
    batch = data.collate([data[i] for i in range(len(data))])
    target = torch.randn_like(batch["teacher_path"][:, -1])  # a path end the student cannot already give
    batch["teacher_path"][:, -1] = target
    generator = torch.Generator().manual_seed(3)
    losses = {k: v.detach() for k, v in module.step_losses(batch, generator, "student").items()}
    assert set(losses) == {"reg", "loss"}  # no DMD rollout when its weight is 0
    # the same draws again: k is the first draw of the step after the context's
    replay = torch.Generator().manual_seed(3)
    with torch.no_grad():
        _, context = target_and_context(student, batch, NO_MASKING, replay)
        k = int(torch.multinomial(torch.ones(4), 1, generator=replay))
        t = torch.tensor([1.0, 0.75, 0.5, 0.25])[k] * torch.ones(len(data))
        x0 = x0_predictor(student.backbone, student.objective, context)(batch["teacher_path"][:, k], t)
    torch.testing.assert_close(losses["reg"], ((x0 - target) ** 2).mean())
    optimizer, _ = build_optimizer(module.trainable_parameters(), cfg.optimizer_preset)
    first = float(losses["reg"])
    for step in range(8):
        losses = module.step_losses(batch, torch.Generator().manual_seed(3), "student")
        losses["loss"].backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    assert float(losses["reg"]) < 0.9 * first
    assert all(torch.equal(a, b) for a, b in zip(teacher.parameters(), model.backbone.parameters()))


def test_next_targets_make_one_euler_step_land_on_the_next_path_point():
    ts = torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0])
    path = torch.randn(2, 5, 3, 4)  # any 4 points and an end: the targets are defined for every path
    targets = regression_targets(path, ts, "next")
    assert targets.shape == (2, 4, 3, 4)
    for k in range(4):
        z, x0 = path[:, k], targets[:, k]
        if k < 3:
            eps = (z - (1 - ts[k]) * x0) / ts[k]  # the noise the student's x0 implies at z
            torch.testing.assert_close((1 - ts[k + 1]) * x0 + ts[k + 1] * eps, path[:, k + 1])
            velocity = (z - x0) / ts[k]  # the same step as rf-euler on the student
            torch.testing.assert_close(z + (ts[k + 1] - ts[k]) * velocity, path[:, k + 1])
        else:
            torch.testing.assert_close(x0, path[:, -1])
    assert torch.equal(regression_targets(path, ts, "end"), path[:, -1:].expand(-1, 4, 3, 4))
    next_cfg = load_train_config(DistillConfig, None, ["regression_loss_weight=1", "regression_target=next"])
    assert dmd_generation_defaults(next_cfg)["sampler"] == "rf-euler"
    assert {next_cfg.phase(g) for g in range(12)} == {"student", "fake"}  # the DMD term still needs the fake
    alone = load_train_config(DistillConfig, None, REG_ONLY)
    assert {alone.phase(g) for g in range(12)} == {"student"}  # regression alone: no fake-network steps
    assert dmd_generation_defaults(DistillConfig())["sampler"] == "dmd"


def test_regression_needs_a_cache(cache_setup, tmp_path):
    model, _, manifest, cfg = cache_setup
    with pytest.raises(ConfigError, match="needs an encode-dataset cache"):
        teacher_path_dataset(model, model.backbone, manifest_dataset(model, cfg, manifest), cfg, tmp_path / "p")
    with pytest.raises(ConfigError, match="teacher_path_steps"):
        load_train_config(DistillConfig, None, ["teacher_path_steps=2"])


@pytest.mark.slow
def test_distill_with_trajectory_regression_exports_an_euler_student(tmp_path, tiny_model_dir):
    from audiox.conditioning.tiny_encoders import tiny_conditioner_options
    from audiox.pipeline import AudioX
    from audiox.pipeline.load import load_pipeline, save_pipeline
    from audiox.training.distill_module import distill
    from tests.tiny_pipelines import SYNCHFORMER_SIZES, tiny_pipeline

    options = tiny_conditioner_options()
    folder = save_pipeline(tiny_pipeline("mmdit"), tmp_path / "teacher", options={
        "vision_config": options["vision_config"].to_dict(), "temporal_sizes": options["temporal_sizes"],
        "text_encoder_dtype": "float32", "synchformer": SYNCHFORMER_SIZES})
    cfg = load_train_config(DistillConfig, None, [*REG_ONLY, "regression_target=next", "run.max_steps=2",
                                                  "run.batch_size=2", "update_ratio_s_f=4"])
    model = load_pipeline(folder).model.eval()
    manifest = write_tiny_dataset(tmp_path / "data", num_items=3)
    encode_dataset(model, manifest_dataset(model, cfg, manifest), tmp_path / "cache", batch_size=2)
    distill(folder, cfg, tmp_path / "cache", tmp_path / "out")
    assert len(list((tmp_path / "out" / "teacher_paths").glob("paths_*.safetensors"))) == 1
    pipe = AudioX.from_pretrained(tmp_path / "out" / "export" / "final")
    assert (pipe.defaults.sampler, pipe.defaults.steps, pipe.defaults.cfg_scale) == ("rf-euler", 4, 1.0)
    assert torch.isfinite(pipe.generate("a dog barks", duration_s=1.0, seed=0).audio).all()
    with pytest.raises(ConfigError, match="needs a rectified-flow teacher"):  # the DiT fixture is a v model
        distill(tiny_model_dir, cfg, manifest, tmp_path / "v")
