"""The Lightning module of AudioX diffusion training (multimodal input-masked, architecture.md §6).

One training step (`diffusion_loss_for_batch`), every random draw from one generator seeded by
(seed, optimizer step, rank, micro-batch) so a resumed run repeats the uninterrupted one:

1. encode the target audio with the frozen VAE in float32 (autocast off): x0 (B, C, L), a posterior sample;
2. mask the raw conditioning inputs (`training.masking.mask_inputs`) and build the conditioner inputs;
3. run the conditioners, then MAF fusion -> context (B, N, D); CFG dropout zeroes whole items' context;
4. draw t (scrambled Sobol "uniform" or "logit_normal") and noise, noise x0 per the model's objective;
5. MSE between the backbone output and the objective's target (optionally over real audio frames only).

Only the backbone, the MAF block and the conditioners' own layers train; T5 (kept outside the state
dict), the CLIP tower and every VAE copy are frozen and stay in eval mode. The EMA copy follows the
backbone (official: `diffusion_ema` wraps `diffusion.model`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

from audiox.conditioning.conditioner_set import VideoWithSync
from audiox.conditioning.text_t5 import T5TextConditioner
from audiox.conditioning.video_clip import SYNC_TOKENS, ClipSyncVideoConditioner, ClipVideoBase
from audiox.diffusion.model import DiffusionModel
from audiox.errors import ConfigError
from audiox.training.config import TrainConfig
from audiox.training.ema import EMA
from audiox.training.losses import diffusion_loss, noised_input_and_target, sample_timesteps, sobol_engine
from audiox.training.masking import cfg_dropout, mask_inputs
from audiox.training.schedules import build_optimizer

FROZEN_SUBMODULES = ("visual_encoder_model", "pretransform")  # inside conditioners: CLIP tower, VAE copy


def step_seed(*keys: int) -> int:
    """A 63-bit seed from integer keys (seed, step, rank, micro-batch), stable across processes."""
    digest = hashlib.blake2b("/".join(str(k) for k in keys).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def frozen_modules(model: DiffusionModel) -> list[nn.Module]:
    """Modules that never train: the VAE, the CLIP tower and every conditioner's VAE copy."""
    frozen: list[nn.Module] = [model.pretransform] if model.pretransform is not None else []
    if model.conditioner is not None:
        for conditioner in model.conditioner.conditioners.values():
            frozen += [getattr(conditioner, n) for n in FROZEN_SUBMODULES if getattr(conditioner, n, None) is not None]
    return frozen


def set_trainable(model: DiffusionModel) -> list[nn.Parameter]:
    """requires_grad on the backbone, MAF and conditioner layers only; returns the trainable parameters."""
    model.requires_grad_(True)
    for module in frozen_modules(model):
        module.requires_grad_(False)
    return [p for p in model.parameters() if p.requires_grad]


def conditioner_inputs_from_batch(model: DiffusionModel, batch: Mapping[str, Any]) -> dict[str, Any]:
    """A collated (masked) batch -> {conditioner id: input}. Missing video / sync are zeros (B, F, 3, H, W)
    / (B, 240, D_clip): the video conditioner then uses its learned empty feature."""
    inputs: dict[str, Any] = {}
    batch_size = len(batch["text_prompt"])
    for cond_id, conditioner in model.conditioner.conditioners.items():
        if isinstance(conditioner, T5TextConditioner):
            inputs[cond_id] = list(batch["text_prompt"])
        elif isinstance(conditioner, ClipVideoBase):
            video = batch["video_prompt"]
            if video is None:
                tower = conditioner.visual_encoder_model
                size = tower.config.image_size if tower is not None else 224
                video = batch["audio"].new_zeros(batch_size, conditioner.num_frames, 3, size, size)
            if isinstance(conditioner, ClipSyncVideoConditioner):
                sync = batch["video_sync_frames"]
                if sync is None:
                    sync = batch["audio"].new_zeros(batch_size, SYNC_TOKENS, conditioner.clip_width)
                inputs[cond_id] = VideoWithSync(video, sync)
            else:
                inputs[cond_id] = video
        else:
            inputs[cond_id] = batch["audio_prompt"]
    return inputs


def encode_target(model: DiffusionModel, audio: Tensor, generator: torch.Generator) -> Tensor:
    """audio: (B, C, S) -> latents x0 (B, latent_dim, L): a VAE posterior sample, float32, no grad."""
    if model.pretransform is None:
        raise ConfigError("diffusion training needs model.pretransform (a VAE) in the model config")
    autocast = torch.autocast(audio.device.type, enabled=False) if audio.device.type == "cuda" else nullcontext()
    with torch.no_grad(), autocast:
        return model.pretransform.encode(audio.float(), generator=generator)


def fused_context(model: DiffusionModel, batch: Mapping[str, Any], generator: torch.Generator) -> Tensor:
    """Conditioners + MAF on a (masked) batch -> context (B, N, D)."""
    conditions = model.conditioner(conditioner_inputs_from_batch(model, batch), generator=generator)
    context, _ = model.fuse(conditions)
    return context


def diffusion_loss_for_batch(
    model: DiffusionModel, batch: Mapping[str, Any], cfg: TrainConfig, generator: torch.Generator
) -> Tensor:
    """The training loss of one collated batch (see the module docstring); draws only from `generator`."""
    x0 = encode_target(model, batch["audio"], generator)  # (B, C, L)
    masked, _ = mask_inputs(dict(batch), cfg.masking, generator)
    context = fused_context(model, masked, generator)  # (B, N, D)
    context, _ = cfg_dropout(context, cfg.cfg_dropout_prob, generator)
    batch_size = x0.shape[0]
    if cfg.timestep_sampler == "uniform":
        sobol = sobol_engine(int(torch.randint(2**31 - 1, (), generator=generator)))
        t = sample_timesteps(batch_size, "uniform", sobol=sobol)
    else:
        t = sample_timesteps(batch_size, "logit_normal", generator=generator)
    t = t.to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    z, _ = noised_input_and_target(model.objective, x0, noise, t)
    output = model.backbone(z, t, context)  # (B, C, L)
    padding = batch["padding_mask"] if cfg.mask_padding else None
    return diffusion_loss(model.objective, output.float(), x0, noise, t, padding)


class DiffusionTrainingModule(pl.LightningModule):
    """Wraps a DiffusionModel for Lightning: loss, AdamW + InverseLR, EMA of the backbone."""

    def __init__(self, model: DiffusionModel, cfg: TrainConfig) -> None:
        super().__init__()
        if model.conditioner is None:
            raise ConfigError("diffusion training needs model.conditioning in the model config")
        self.model = model
        self.cfg = cfg
        self.trainable = set_trainable(model)
        self.ema = EMA(model.backbone, cfg.ema) if cfg.use_ema else None

    def train(self, mode: bool = True) -> DiffusionTrainingModule:
        """Frozen encoders stay in eval mode while the rest trains."""
        super().train(mode)
        for module in frozen_modules(self.model):
            module.eval()
        if self.ema is not None:
            self.ema.eval()
        return self

    def step_generator(self, batch_idx: int) -> torch.Generator:
        """The generator of one micro-batch, keyed by (seed, optimizer step, rank, micro-batch index)."""
        micro = batch_idx % max(1, self.cfg.run.accumulate_grad_batches)
        seed = step_seed(self.cfg.run.seed, self.global_step, self.global_rank, micro)
        return torch.Generator().manual_seed(seed)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        loss = diffusion_loss_for_batch(self.model, batch, self.cfg, self.step_generator(batch_idx))
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["text_prompt"]))
        self.log("train/lr", self.lr_schedulers().get_last_lr()[0], batch_size=len(batch["text_prompt"]))
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer, scheduler = build_optimizer(self.trainable, self.cfg.optimizer_preset)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        """The optimizer step, then one EMA update (called only on real steps, not accumulation)."""
        super().optimizer_step(*args, **kwargs)
        if self.ema is not None:
            self.ema.update()

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        return {k: v.to(device) if isinstance(v, Tensor) else v for k, v in batch.items()}
