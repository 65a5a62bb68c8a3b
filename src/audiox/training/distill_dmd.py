"""One DMD distillation step (AudioX-Turbo's recipe, architecture.md §6.3; Yin et al. 2024, DMD / DMD2).

Networks (`DmdNetworks`): the student (`model.backbone`, initialised from the teacher, trains), the frozen
teacher backbone (the "real" score, run with CFG `teacher_guidance_scale`), the fake-score backbone (a
trainable copy of the teacher that learns the student's distribution) and the discriminator heads. The
conditioners, MAF and VAE are the teacher's, frozen and shared: the context is computed once per step.

Every network is read in the flow view: a point z = (1 - t) x0 + t eps of the rectified-flow path maps to
a clean estimate x0 (`diffusion.denoiser.flow_denoiser`), for rectified-flow networks directly and for
`v` networks through their v parameterisation, so a v-objective DiT teacher distils the same way.

Student phase (g mod cycle < update_ratio_s_f):
1. target step k ~ `timestep_sampling_probs` over the student grid t_i = linspace(1, 0, steps + 1);
   z = eps; steps i < k run without gradient, x0_i re-noised with a fresh draw to t_{i+1}; step k keeps
   its gradient: x_s = student_x0(z, t_k);
2. t ~ Sobol U(0, 1), z_t = t eps + (1 - t) sg(x_s); x_real = teacher_x0(z_t, t, CFG), x_fake = fake_x0(z_t, t);
   p_r = z_t - x_real, p_f = z_t - x_fake, grad = (p_r - p_f) / (mean|p_r| per item + 1e-8), NaN -> 0;
   L_dmd = 0.5 MSE(x_s, sg(x_s - grad)) * dmd_loss_weight;
3. with GAN: L_G = -mean(D(x_s)) * gan_loss_weight, the discriminator (heads and feature net) frozen;
4. with teacher paths (`training.teacher_paths`, the original DMD's regression loss): the student's x0 at
   the teacher's path point of step k, L_reg = MSE(student_x0(path_k, t_k), target_k) * regression_loss_weight,
   target_k the path's end ("end") or the x0 whose deterministic step from path_k lands on path_{k+1}
   ("next", `regression_targets`).
Fake phase: x = sg(x_s) from the same rollout without gradient; t ~ Sobol; L_fake = the fake network's own
diffusion loss on x (rectified flow: MSE(fake(z_t, t), eps - x)) * fake_loss_weight; with GAN the hinge
loss (mean relu(1 - D(x0_real)) + mean relu(1 + D(x))) * gan_loss_weight.
D(x): t_d ~ U(0, gan_max_t), z = t_d eps + (1 - t_d) x, the feature network's output head after the
configured block depths (cfg 1) -> `DiscriminatorHeads`.
Every draw comes from the step's generator, in a fixed order (k, eps, re-noise draws, Sobol seed, eps',
then the discriminator's t_d / eps per call), so a resumed run repeats the uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from audiox.diffusion.denoiser import flow_denoiser
from audiox.diffusion.guidance import apply_cfg
from audiox.diffusion.model import DiffusionModel
from audiox.diffusion.objectives import flow_to_v_input, rf_noise
from audiox.errors import ConfigError
from audiox.sampling.schedules import timesteps_dmd
from audiox.training.distill_config import DistillConfig
from audiox.training.dmd_discriminator import (
    DiscriminatorHeads,
    hinge_discriminator_loss,
    hinge_generator_loss,
)
from audiox.training.losses import latent_padding_mask, mse_loss, noised_input_and_target, sobol_engine

OBJECTIVES = ("rectified_flow", "v")
Denoise = Callable[[Tensor, Tensor], Tensor]


@dataclass
class DmdNetworks:
    """model: the student DiffusionModel (its backbone trains; conditioners / MAF / VAE frozen, shared);
    teacher, fake: backbones of the same architecture; heads: None without the GAN term."""

    model: DiffusionModel
    teacher: nn.Module
    fake: nn.Module
    heads: DiscriminatorHeads | None
    feature_network: str = "teacher"

    @property
    def objective(self) -> str:
        return check_objective(self.model.objective)

    @property
    def features(self) -> nn.Module:
        return self.teacher if self.feature_network == "teacher" else self.fake


def check_objective(objective: str) -> str:
    """`objective` if DMD can distil it (rectified flow; v through its flow view), else a ConfigError."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"distill: diffusion_objective {objective!r} is not supported; use one of {OBJECTIVES}")
    return objective


def x0_predictor(backbone: nn.Module, objective: str, context: Tensor, cfg_scale: float = 1.0) -> Denoise:
    """x0(z: (B, C, L), t: (B,)) of `backbone` on the flow path, conditioned on context (B, N, D)."""
    net = partial(apply_cfg, backbone, context=context, cfg_scale=cfg_scale)
    return flow_denoiser(net, objective)


def model_input(objective: str, z: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    """The network input (x, t) of flow point z at flow time t (identity for rectified flow)."""
    return (z, t) if objective == "rectified_flow" else flow_to_v_input(z, t)


@contextmanager
def frozen(*modules: nn.Module | None) -> Iterator[None]:
    """requires_grad off for the modules' parameters inside the block (gradients still reach the inputs)."""
    params = [p for m in modules if m is not None for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


def draw_target_step(probs: tuple[float, ...] | None, steps: int, generator: torch.Generator) -> int:
    """The student step k in 0..steps-1 whose output is trained (uniform when probs is None)."""
    weights = torch.ones(steps) if probs is None else torch.tensor(probs, dtype=torch.float32)
    return int(torch.multinomial(weights, 1, generator=generator))


def student_sample(
    denoise: Denoise, noise: Tensor, ts: Tensor, k: int, generator: torch.Generator, *, grad: bool
) -> Tensor:
    """The student's x0 at grid step k (DMD sampler rollout from `noise` (B, C, L), fresh re-noise draws);
    only the last call keeps its graph when `grad`. -> (B, C, L)."""
    z, ones = noise, noise.new_ones(noise.shape[0])
    for i in range(k):
        with torch.no_grad():
            x0 = denoise(z, ts[i] * ones)
        z = rf_noise(x0, torch.randn(x0.shape, generator=generator).to(x0.device), ts[i + 1])
    with torch.set_grad_enabled(grad and torch.is_grad_enabled()):
        return denoise(z, ts[k] * ones)


def uniform_times(batch_size: int, generator: torch.Generator, device: torch.device) -> Tensor:
    """t: (B,) from a scrambled Sobol sequence seeded by one draw of `generator`."""
    sobol = sobol_engine(int(torch.randint(2**31 - 1, (), generator=generator)))
    return sobol.draw(batch_size)[:, 0].float().to(device)


def dmd_gradient(z_t: Tensor, x_real: Tensor, x_fake: Tensor, mask: Tensor | None = None) -> Tensor:
    """(p_r - p_f) / (mean|p_r| per item + 1e-8) with p = z_t - x, NaN -> 0, zero outside mask (B, L).
    All (B, C, L)."""
    p_real, p_fake = z_t - x_real, z_t - x_fake
    grad = (p_real - p_fake) / (p_real.abs().mean(dim=(1, 2), keepdim=True) + 1e-8)
    grad = torch.nan_to_num(grad, nan=0.0)
    return grad if mask is None else grad * mask[:, None, :]


def dmd_loss(x_s: Tensor, grad: Tensor) -> Tensor:
    """0.5 * MSE(x_s, stopgrad(x_s - grad)): its gradient w.r.t. x_s is grad / numel. -> ()."""
    return 0.5 * F.mse_loss(x_s.float(), (x_s - grad).detach().float())


def discriminator_logits(
    nets: DmdNetworks, x: Tensor, context: Tensor, cfg: DistillConfig, generator: torch.Generator
) -> Tensor:
    """D(x): x (B, C, L) re-noised to t_d ~ U(0, gan_max_t), feature-net outputs at the heads' depths,
    averaged head logits (B, 1, L')."""
    t_d = (torch.rand(x.shape[0], generator=generator) * cfg.gan_max_t).to(x.device)
    z = rf_noise(x, torch.randn(x.shape, generator=generator).to(x.device), t_d)
    features = nets.features.block_outputs(*model_input(nets.objective, z, t_d), context, nets.heads.depths)
    return nets.heads(features)


def student_losses(
    nets: DmdNetworks, x0: Tensor, context: Tensor, mask: Tensor | None, cfg: DistillConfig,
    generator: torch.Generator, teacher_path: Tensor | None = None,
) -> dict[str, Tensor]:
    """Student phase: {["dmd"], ["gan_g"], ["reg"]} (weighted; only the terms that are on). x0: (B, C, L) real
    latents, context: (B, N, D), teacher_path: (B, K + 1, C, L) the teacher's path at the K student times and
    its end (needed when `regression_loss_weight` > 0)."""
    objective = nets.objective
    k = draw_target_step(cfg.timestep_sampling_probs, cfg.dmd_sample_steps, generator)
    losses = {}
    if cfg.dmd_loss_weight > 0 or nets.heads is not None:  # a regression-only run needs no rollout
        x_s = _rollout(nets, x0, context, cfg, generator, grad=True, k=k)
    if cfg.dmd_loss_weight > 0:
        t = uniform_times(x0.shape[0], generator, x0.device)
        z_t = rf_noise(x_s.detach(), torch.randn(x0.shape, generator=generator).to(x0.device), t)
        with torch.no_grad():
            x_real = x0_predictor(nets.teacher, objective, context, cfg.teacher_guidance_scale)(z_t, t)
            x_fake = x0_predictor(nets.fake, objective, context)(z_t, t)
        grad = dmd_gradient(z_t.float(), x_real.float(), x_fake.float(), mask)
        losses["dmd"] = dmd_loss(x_s, grad) * cfg.dmd_loss_weight
    if nets.heads is not None:
        with frozen(nets.heads, nets.features):
            logits = discriminator_logits(nets, x_s, context, cfg, generator)
        losses["gan_g"] = hinge_generator_loss(logits) * cfg.gan_loss_weight
    if cfg.regression_loss_weight > 0:
        losses["reg"] = regression_loss(nets, context, cfg, k, teacher_path, mask) * cfg.regression_loss_weight
    if not losses:
        raise ConfigError("distill: every student loss is off (dmd_loss_weight 0, use_gan false, "
                          "regression_loss_weight 0)")
    return losses


def regression_targets(path: Tensor, ts: Tensor, kind: str) -> Tensor:
    """Per student step k the x0 the student should give at path point k. path: (B, K + 1, C, L) the
    teacher's path at ts[0..K-1] and its end (t = ts[K] = 0); ts: (K + 1,). -> (B, K, C, L).
    "end": the path's end for every k. "next": x0_k = (t_k z_{k+1} - t_{k+1} z_k) / (t_k - t_{k+1}), the x0
    for which z_{k+1} = (1 - t_{k+1}) x0_k + t_{k+1} eps_k with eps_k = (z_k - (1 - t_k) x0_k) / t_k (one
    deterministic DDIM / Euler step, the same line through both points); for the last step the end itself."""
    steps = path.shape[1] - 1
    if kind == "end":
        return path[:, -1:].expand(-1, steps, *path.shape[2:])
    if kind != "next":
        raise ConfigError(f"distill: regression_target {kind!r} is not 'end' or 'next'")
    t_k = ts[:steps].view(1, steps, 1, 1).to(path)
    t_n = ts[1:steps + 1].view(1, steps, 1, 1).to(path)
    return (t_k * path[:, 1:] - t_n * path[:, :-1]) / (t_k - t_n)


def regression_loss(
    nets: DmdNetworks, context: Tensor, cfg: DistillConfig, k: int, teacher_path: Tensor | None,
    mask: Tensor | None,
) -> Tensor:
    """MSE between the student's x0 at the teacher's path point of step k and its target. -> ()."""
    if teacher_path is None:
        raise ConfigError("distill: regression_loss_weight > 0 needs teacher paths in the batch "
                          "(an encode-dataset cache as --data)")
    ts = timesteps_dmd(cfg.dmd_sample_steps)
    target = regression_targets(teacher_path, ts, cfg.regression_target)[:, k]
    t = ts[k].to(context.device) * context.new_ones(context.shape[0])
    student = x0_predictor(nets.model.backbone, nets.objective, context)(teacher_path[:, k], t)
    return mse_loss(student.float(), target.float(), mask)


def fake_losses(
    nets: DmdNetworks, x0: Tensor, context: Tensor, mask: Tensor | None, cfg: DistillConfig,
    generator: torch.Generator,
) -> dict[str, Tensor]:
    """Fake / discriminator phase: {"fake", ["gan_d"]} (weighted). Shapes as `student_losses`."""
    objective = nets.objective
    k = draw_target_step(cfg.timestep_sampling_probs, cfg.dmd_sample_steps, generator)
    x = _rollout(nets, x0, context, cfg, generator, grad=False, k=k).detach()
    t = uniform_times(x0.shape[0], generator, x0.device)
    t_model = t if objective == "rectified_flow" else flow_to_v_input(x, t)[1]
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    z, target = noised_input_and_target(objective, x, noise, t_model)
    losses = {"fake": mse_loss(nets.fake(z, t_model, context).float(), target.float(), mask) * cfg.fake_loss_weight}
    if nets.heads is not None:  # the heads train; the fake network too when it is the feature network
        real = discriminator_logits(nets, x0, context, cfg, generator)
        generated = discriminator_logits(nets, x, context, cfg, generator)
        losses["gan_d"] = hinge_discriminator_loss(real, generated) * cfg.gan_loss_weight
    return losses


def dmd_step_losses(
    nets: DmdNetworks, x0: Tensor, context: Tensor, padding_mask: Tensor, cfg: DistillConfig, phase: str,
    generator: torch.Generator, teacher_path: Tensor | None = None,
) -> dict[str, Tensor]:
    """The weighted losses of one step of `phase` ("student" | "fake") plus their sum under "loss".
    x0: (B, C, L), context: (B, N, D), padding_mask: (B, S) over audio samples, teacher_path: see
    `student_losses`."""
    mask = latent_padding_mask(padding_mask.bool(), x0.shape[-1]) if cfg.mask_padding else None
    if phase == "student":
        losses = student_losses(nets, x0, context, mask, cfg, generator, teacher_path)
    elif phase == "fake":
        losses = fake_losses(nets, x0, context, mask, cfg, generator)
    else:
        raise ConfigError(f"distill: unknown phase {phase!r}")
    losses["loss"] = sum(losses.values())
    return losses


def _rollout(
    nets: DmdNetworks, x0: Tensor, context: Tensor, cfg: DistillConfig, generator: torch.Generator, *, grad: bool,
    k: int,
) -> Tensor:
    """Draw the initial noise, then `student_sample` to step k -> x_s (B, C, L)."""
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    denoise = x0_predictor(nets.model.backbone, nets.objective, context)
    return student_sample(denoise, noise, timesteps_dmd(cfg.dmd_sample_steps).to(x0.device), k, generator, grad=grad)
