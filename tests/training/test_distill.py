"""DMD distillation: the recipe's formulas, which networks each phase updates, resume, and the exported student."""

from __future__ import annotations

import copy

import lightning.pytorch as pl
import pytest
import torch

from audiox.diffusion.denoiser import flow_denoiser, flow_velocity
from audiox.diffusion.objectives import flow_to_v_input, v_target
from audiox.errors import ConfigError
from audiox.sampling.run import SamplerSettings, sample_latents
from audiox.training.config import apply_overrides, load_train_config
from audiox.training.distill_config import DistillConfig
from audiox.training.distill_dmd import check_objective, dmd_gradient, dmd_loss, student_sample
from audiox.training.distill_module import DmdTrainingModule
from audiox.training.dmd_discriminator import (
    DiscriminatorHead,
    feature_depths,
    hinge_discriminator_loss,
    hinge_generator_loss,
)
from audiox.training.fit import build_training_model, manifest_dataset
from audiox.training.schedules import build_optimizer
from tests.training.tiny_data import write_tiny_dataset


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("data"), num_items=3)


def test_dmd_gradient_and_loss_follow_the_formulas():
    g = torch.Generator().manual_seed(0)
    z_t, x_real, x_fake = (torch.randn(2, 3, 5, generator=g) for _ in range(3))
    x_fake[0, 0, 0] = float("nan")
    mask = torch.tensor([[True] * 5, [True, True, False, False, True]])
    grad = dmd_gradient(z_t, x_real, x_fake, mask)
    p_r, p_f = z_t - x_real, z_t - x_fake
    for b in range(2):
        expected = (p_r[b] - p_f[b]) / (p_r[b].abs().mean() + 1e-8)
        expected = torch.nan_to_num(expected, nan=0.0) * mask[b].float()
        torch.testing.assert_close(grad[b], expected)
    assert grad[0, 0, 0] == 0 and torch.all(grad[1, :, 2:4] == 0)
    x_s = torch.randn(2, 3, 5, generator=g, requires_grad=True)
    loss = dmd_loss(x_s, grad)
    torch.testing.assert_close(loss, 0.5 * (grad**2).mean())
    loss.backward()
    torch.testing.assert_close(x_s.grad, grad / grad.numel())  # the step moves x_s along -grad


def test_hinge_losses_and_head_shape():
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 1.0])
    assert float(hinge_discriminator_loss(real, fake)) == pytest.approx((0 + 0.5 + 2) / 3 + (0 + 1 + 2) / 3)
    assert float(hinge_generator_loss(fake)) == pytest.approx(-fake.mean().item())
    head = DiscriminatorHead(in_channels=64)
    assert head(torch.zeros(2, 64, 236)).shape == (2, 1, 59)  # the official (B, 1, 59) for L = 236
    assert feature_depths("all_blocks", 3, 4) == (1, 2, 3) and feature_depths("last_block", -1, 4) == (4,)
    with pytest.raises(ConfigError, match="gan_backbone_num_blocks"):
        feature_depths("all_blocks", 5, 4)


def test_student_rollout_renoises_with_fresh_draws_and_keeps_only_the_last_graph():
    calls = []
    weight = torch.tensor(0.5, requires_grad=True)

    def denoise(z, t):
        calls.append(float(t[0]))
        return z * weight

    noise = torch.randn(1, 2, 3, generator=torch.Generator().manual_seed(1))
    ts = torch.linspace(1, 0, 5)
    gen = torch.Generator().manual_seed(2)
    out = student_sample(denoise, noise, ts, 2, gen, grad=True)
    assert calls == [1.0, 0.75, 0.5]
    replay = torch.Generator().manual_seed(2)
    z = noise
    for i in range(2):
        z = (1 - ts[i + 1]) * (z * 0.5) + ts[i + 1] * torch.randn(z.shape, generator=replay)
    torch.testing.assert_close(out, z * 0.5)
    out.sum().backward()
    torch.testing.assert_close(weight.grad, z.sum())  # d/dw of the last call only


def test_v_network_in_the_flow_view_recovers_x0_and_the_velocity():
    g = torch.Generator().manual_seed(3)
    x0, eps = torch.randn(3, 2, 4, generator=g), torch.randn(3, 2, 4, generator=g)
    t = torch.tensor([1.0, 0.6, 0.1])
    z = (1 - t.view(-1, 1, 1)) * x0 + t.view(-1, 1, 1) * eps

    def exact_v(z_v, t_v):  # the ideal v-objective network for this (x0, eps)
        return v_target(x0, eps, t_v)

    z_v, t_v = flow_to_v_input(z, t)
    torch.testing.assert_close(z_v, torch.cos(t_v * torch.pi / 2).view(-1, 1, 1) * x0
                               + torch.sin(t_v * torch.pi / 2).view(-1, 1, 1) * eps)
    torch.testing.assert_close(flow_denoiser(exact_v, "v")(z, t), x0)
    torch.testing.assert_close(flow_velocity(exact_v, "v")(z, t), eps - x0)


def test_dmd_sampler_runs_a_v_network():
    target = torch.full((1, 2, 4), 0.3)

    def point_mass_v(z_v, t_v):  # v of a point mass at `target`, from z_v = a target + s eps
        a, s = torch.cos(t_v * torch.pi / 2).view(-1, 1, 1), torch.sin(t_v * torch.pi / 2).view(-1, 1, 1)
        eps = (z_v - a * target) / s
        return a * eps - s * target

    noise = torch.randn(1, 2, 4, generator=torch.Generator().manual_seed(0))
    out = sample_latents(point_mass_v, noise, objective="v", settings=SamplerSettings(sampler="dmd", steps=4),
                         generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(out, target)


def test_config_cycle_probabilities_and_objectives():
    cfg = load_train_config(DistillConfig, None, ["update_ratio_s_f=2", "fake_updates_per_cycle=1"])
    assert [cfg.phase(g) for g in range(6)] == ["student", "student", "fake"] * 2
    assert DistillConfig().phase(4) == "student" and DistillConfig().phase(5) == "fake"  # official 5 : 1
    with pytest.raises(ConfigError, match="timestep_sampling_probs"):
        apply_overrides(DistillConfig(), ["timestep_sampling_probs=[1, 1]"])
    with pytest.raises(ConfigError, match="not supported"):
        check_objective("eps")


def _snapshot(module):
    return {name: copy.deepcopy(m.state_dict()) for name, m in
            (("student", module.model.backbone), ("fake", module.fake), ("heads", module.heads),
             ("teacher", module.teacher), ("maf", module.model.maf_block))}


def _changed(before, after):
    return {name for name in before if any(not torch.equal(v, after[name][k]) for k, v in before[name].items())}


@pytest.mark.parametrize("preset", ["tiny-mmdit", "tiny-dit"])  # rectified flow and v
def test_each_phase_updates_only_its_networks_and_never_the_teacher(preset, manifest):
    built = build_training_model(model_config=preset)
    cfg = load_train_config(DistillConfig, None, ["update_ratio_s_f=2", "optimizer.lr=1e-3", "scheduler.warmup=0"])
    module = DmdTrainingModule(built.model, copy.deepcopy(built.model.backbone), cfg).train()
    dataset = manifest_dataset(built.model, cfg, manifest)
    batch = dataset.collate([dataset[0], dataset[1]])
    optimizer, _ = build_optimizer(module.trainable_parameters(), cfg.optimizer_preset)
    for step, expected in enumerate([{"student"}, {"student"}, {"fake", "heads"}]):
        before = _snapshot(module)
        losses = module.step_losses(batch, torch.Generator().manual_seed(step), cfg.phase(step))
        assert all(torch.isfinite(v) for v in losses.values()), losses
        losses["loss"].backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        assert _changed(before, _snapshot(module)) == expected, step
    assert set(losses) == {"fake", "gan_d", "loss"}


def test_fake_feature_network_trains_on_the_discriminator_loss(manifest):
    built = build_training_model(model_config="tiny-mmdit")
    cfg = load_train_config(DistillConfig, None, ["gan_feature_network=fake", "fake_loss_weight=0",
                                                  "gan_discriminator_head_mode=all_blocks"])
    module = DmdTrainingModule(built.model, copy.deepcopy(built.model.backbone), cfg)
    dataset = manifest_dataset(built.model, cfg, manifest)
    losses = module.step_losses(dataset.collate([dataset[0]]), torch.Generator().manual_seed(0), "fake")
    losses["loss"].backward()
    assert len(module.heads.heads) == len(built.model.backbone.transformer.layers)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.fake.parameters())
    assert all(p.grad is None for p in module.model.backbone.parameters())


class _Losses(pl.Callback):
    def __init__(self) -> None:
        self.losses: list[tuple[int, float]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.losses.append((trainer.global_step, float(outputs["loss"])))


@pytest.mark.slow
def test_resume_repeats_the_run_and_the_export_samples_with_dmd(tmp_path, tiny_model_dir, manifest):
    from audiox.pipeline import AudioX
    from audiox.training.distill_module import distill

    cfg = apply_overrides(DistillConfig(), [
        "run.max_steps=4", "run.batch_size=2", "run.checkpoint_every_n_steps=2", "update_ratio_s_f=1",
        "use_ema=true", "optimizer.lr=1e-3", "scheduler.warmup=0", "gan_discriminator_head_mode=all_blocks",
    ])
    whole, resumed = _Losses(), _Losses()
    a = distill(tiny_model_dir, cfg, manifest, tmp_path / "a", callbacks=[whole])
    b = distill(tiny_model_dir, cfg, manifest, tmp_path / "b", callbacks=[resumed],
                resume=tmp_path / "a" / "checkpoints" / "step_0000002.ckpt")
    assert [s for s, _ in whole.losses] == [1, 2, 3, 4] and [s for s, _ in resumed.losses] == [3, 4]
    torch.testing.assert_close(torch.tensor(resumed.losses), torch.tensor(whole.losses[2:]), rtol=1e-5, atol=1e-6)
    checkpoint = torch.load(tmp_path / "a" / "checkpoints" / "last.ckpt", weights_only=False)
    assert not any(k.startswith("teacher.") for k in checkpoint["state_dict"])  # rebuilt from --teacher
    for name in ("model.backbone", "fake", "heads", "ema"):
        for (key, pa), pb in zip(a.module.get_submodule(name).state_dict().items(),
                                 b.module.get_submodule(name).state_dict().values()):
            torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6, msg=f"{name}.{key}")
    pipe = AudioX.from_pretrained(tmp_path / "a" / "export" / "final")
    assert (pipe.defaults.sampler, pipe.defaults.steps, pipe.defaults.cfg_scale) == ("dmd", 4, 1.0)
    out = pipe.generate("a dog barks", duration_s=1.0, seed=0)
    assert out.request.sampler == "dmd" and out.request.steps == 4 and torch.isfinite(out.audio).all()
