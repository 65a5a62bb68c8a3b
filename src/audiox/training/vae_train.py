"""VAE training (`audiox train-vae`): the Oobleck autoencoder of a model, trained as a small GAN.

Generator loss = stft_weight * multi-resolution STFT + kl_weight * KL (official form, see
`audiox.vae.bottleneck.kl_divergence`) + adversarial_weight * hinge + feature_matching_weight * L1 of
discriminator features (the last two from `adversarial_start_step` on). The discriminator (multi-scale,
waveform) takes a hinge step after each generator step. Manual optimisation; both optimisers AdamW.
Randomness (posterior sample) comes from a generator keyed by (seed, step, rank).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor

from audiox.training.config import VaeTrainConfig
from audiox.training.lightning_module import step_seed
from audiox.training.vae_losses import (
    MultiScaleDiscriminator,
    adversarial_terms,
    discriminator_loss,
    multi_resolution_stft_loss,
)
from audiox.vae import bottleneck
from audiox.vae.pretransform import AutoencoderPretransform


def reconstruct(pretransform: AutoencoderPretransform, audio: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """audio: (B, C, S) -> (reconstruction (B, C, S'), KL ()) through a posterior sample (with grad)."""
    recon, kl, _ = reconstruct_with(pretransform.model.encoder, pretransform.model.decoder, audio, generator)
    return recon, kl


def reconstruct_with(
    encoder: Any, decoder: Any, audio: Tensor, generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor]:
    """`reconstruct` through the given encoder / decoder modules (e.g. `torch.compile`d stand-ins of the
    VAE's own): audio (B, C, S) -> (reconstruction (B, C, S'), KL (), posterior mean (B, D, L))."""
    latents, kl, mean = posterior_sample(encoder, audio, generator)
    return decoder(latents)[..., : audio.shape[-1]], kl, mean


def posterior_sample(encoder: Any, audio: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """audio (B, C, S) -> (one posterior sample (B, D, L) drawn with `generator`, KL (), posterior mean)."""
    mean, std = bottleneck.posterior(encoder(audio))  # (B, D, L) each
    noise = torch.randn(mean.shape, generator=generator).to(mean.device)
    return bottleneck.sample(mean, std, noise), bottleneck.kl_divergence(mean, std), mean


class VaeTrainingModule(pl.LightningModule):
    """Trains `pretransform.model` (encoder + decoder) against a multi-scale discriminator."""

    def __init__(self, pretransform: AutoencoderPretransform, cfg: VaeTrainConfig) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.pretransform = pretransform.requires_grad_(True)
        self.cfg = cfg
        self.discriminator = MultiScaleDiscriminator(
            in_channels=pretransform.io_channels, channels=cfg.discriminator_channels,
            num_layers=cfg.discriminator_layers, num_scales=cfg.discriminator_scales,
        )

    def generator_losses(self, audio: Tensor, generator: torch.Generator) -> dict[str, Tensor]:
        """Every generator term (weighted sum in "loss") for one batch audio (B, C, S)."""
        cfg = self.cfg
        recon, kl = reconstruct(self.pretransform, audio, generator)
        stft = multi_resolution_stft_loss(recon, audio, cfg.stft.fft_sizes, cfg.stft.hop_sizes, cfg.stft.win_lengths)
        losses = {"stft": stft, "kl": kl, "recon": recon}
        total = cfg.stft_weight * stft + cfg.kl_weight * kl
        if self.global_step >= cfg.adversarial_start_step:
            losses["adversarial"], losses["feature_matching"] = adversarial_terms(self.discriminator, recon, audio)
            total = total + cfg.adversarial_weight * losses["adversarial"]
            total = total + cfg.feature_matching_weight * losses["feature_matching"]
        losses["loss"] = total
        return losses

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        gen_opt, disc_opt = self.optimizers()
        audio = batch["audio"].float()
        generator = torch.Generator().manual_seed(step_seed(self.cfg.run.seed, self.global_step, self.global_rank))
        losses = self.generator_losses(audio, generator)
        gen_opt.zero_grad()
        self.manual_backward(losses["loss"])
        gen_opt.step()
        disc_loss = discriminator_loss(self.discriminator, audio, losses["recon"])
        disc_opt.zero_grad()
        self.manual_backward(disc_loss)
        disc_opt.step()
        logged = {f"vae/{k}": v.detach() for k, v in losses.items() if k != "recon"}
        self.log_dict({**logged, "vae/discriminator": disc_loss.detach()}, batch_size=audio.shape[0], prog_bar=False)
        return losses["loss"].detach()

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        def adamw(params, opt):
            return torch.optim.AdamW(params, lr=opt.lr, betas=opt.betas, eps=opt.eps, weight_decay=opt.weight_decay)

        return [
            adamw(self.pretransform.parameters(), self.cfg.generator_optimizer),
            adamw(self.discriminator.parameters(), self.cfg.discriminator_optimizer),
        ]

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        return {k: v.to(device) if isinstance(v, Tensor) else v for k, v in batch.items()}


def save_vae(pretransform: AutoencoderPretransform, path: str | os.PathLike) -> Path:
    """Write the VAE weights with the Turbo `vae.ckpt` key names (`encoder.*`, `decoder.*`) as safetensors."""
    from audiox.checkpoints.convert import write_safetensors_atomic

    tensors = {k: v.detach().cpu().contiguous() for k, v in pretransform.model.state_dict().items()}
    write_safetensors_atomic(tensors, Path(path), {"format": "audiox-vae"})
    return Path(path)


@dataclass
class VaeTrainResult:
    trainer: pl.Trainer
    module: VaeTrainingModule
    weights: Path


class _ExportVae(pl.Callback):
    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            save_vae(pl_module.pretransform, self.path)


def train_vae(
    model: Any, cfg: VaeTrainConfig, manifest: Any, out_dir: str | os.PathLike, *, resume: str | os.PathLike | None = None
) -> VaeTrainResult:
    """Train `model.pretransform` (a DiffusionModel's VAE) on the manifest's audio; the weights go to
    `out_dir/vae.safetensors`, checkpoints and logs under `out_dir`."""
    from audiox.training.fit import ManifestDataModule, build_trainer, manifest_dataset

    out = Path(out_dir)
    if cfg.run.accumulate_grad_batches != 1:
        raise ValueError("train-vae uses manual optimisation; set run.accumulate_grad_batches=1")
    dataset = manifest_dataset(model, cfg, manifest, load_video=False, sample_size=cfg.sample_size)
    module = VaeTrainingModule(model.pretransform, cfg)
    weights = out / "vae.safetensors"
    trainer = build_trainer(cfg.run, out, [_ExportVae(weights)])
    datamodule = ManifestDataModule(dataset, cfg.run, num_workers=cfg.data.num_workers, optimizer_steps_per_batch=2)
    trainer.fit(module, datamodule=datamodule, ckpt_path=None if resume is None else str(resume))
    return VaeTrainResult(trainer=trainer, module=module, weights=weights)

