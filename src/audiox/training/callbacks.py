"""Training callbacks: demo samples (WAV + spectrogram PNG) and EMA-aware export to a model folder.

Spectrogram PNGs come from `audiox.media.spectrogram`. Demos and exports run on global rank 0 only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor

from audiox.diffusion.guidance import apply_cfg
from audiox.media.audio import write_audio
from audiox.media.spectrogram import spectrogram_image, write_png
from audiox.sampling.run import SamplerSettings, sample_latents
from audiox.training.config import DemoSection


@contextmanager
def ema_weights(module: pl.LightningModule) -> Iterator[None]:
    """Temporarily load the EMA weights into the online backbone (or the module's `ema_target`, e.g. its
    LoRA adapters; no-op without EMA)."""
    ema = getattr(module, "ema", None)
    if ema is None:
        yield
        return
    backbone = getattr(module, "ema_target", module.model.backbone)
    online = {k: v.detach().clone() for k, v in backbone.state_dict().items()}
    with torch.no_grad():
        backbone.load_state_dict(ema.ema_model.state_dict())
    try:
        yield
    finally:
        with torch.no_grad():
            backbone.load_state_dict(online)


@torch.no_grad()
def generate_demos(module: pl.LightningModule, batch: Mapping[str, Any], demo: DemoSection, seed: int) -> Tensor:
    """Audio (B, C, S) generated for the (unmasked) conditions of `batch` with a few sampler steps."""
    from audiox.training.lightning_module import fused_context

    model = module.model
    generator = torch.Generator().manual_seed(seed)
    context = fused_context(model, batch, generator)
    frames = model.pretransform.latent_length(batch["audio"].shape[-1])
    noise = torch.randn((context.shape[0], model.config.model.io_channels, frames), generator=generator)
    settings = SamplerSettings(
        sampler=demo.sampler, steps=demo.steps, sigma_max=1.0 if model.objective == "rectified_flow" else 500.0
    )
    net = partial(apply_cfg, model.backbone, context=context, cfg_scale=demo.cfg_scale)
    latents = sample_latents(
        net, noise.to(context.device), objective=model.objective, settings=settings,
        generator=generator,
    )
    return model.decode(latents.float())


class DemoCallback(pl.Callback):
    """Every `demo.every_n_steps` optimizer steps, write demo_<step>_<i>.wav and .png under `folder`."""

    def __init__(self, folder: str | os.PathLike, demo: DemoSection, demo_batch: Mapping[str, Any], seed: int) -> None:
        self.folder = Path(folder)
        self.demo = demo
        self.batch = _take(demo_batch, demo.num_demos)
        self.seed = seed
        self.written: list[Path] = []

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        step = trainer.global_step
        every = self.demo.every_n_steps
        if every <= 0 or step == 0 or step % every or not trainer.is_global_zero or _written_at(self, step):
            return
        self.write(pl_module, step)

    def write(self, pl_module: pl.LightningModule, step: int) -> list[Path]:
        self.folder.mkdir(parents=True, exist_ok=True)
        batch = pl_module.transfer_batch_to_device(dict(self.batch), pl_module.device, 0)
        was_training = pl_module.training
        pl_module.eval()
        try:
            with ema_weights(pl_module) if self.demo.use_ema else _nothing():
                audio = generate_demos(pl_module, batch, self.demo, self.seed).cpu()
        finally:
            pl_module.train(was_training)
        rate = pl_module.model.config.sample_rate
        paths = []
        for i, item in enumerate(audio):
            paths.append(write_audio(self.folder / f"demo_{step:07d}_{i}.wav", item, rate))
            paths.append(write_png(self.folder / f"demo_{step:07d}_{i}.png", spectrogram_image(item)))
        pl_module.log_dict({"demo/rms": audio.pow(2).mean().sqrt().item()}, rank_zero_only=True)
        self.written += paths
        return paths


class ExportCallback(pl.Callback):
    """Exports the (EMA) model to `folder/step_<n>` every `every_n_steps` steps (0: never) and to
    `folder/final` when training ends, via `save_pipeline` (config.json + model.safetensors + t5/ + audiox.json);
    a LoRA run exports only its adapters (`adapter.safetensors`)."""

    def __init__(
        self, folder: str | os.PathLike, *, every_n_steps: int, options: dict[str, Any], synchformer: Any = None,
        base_model: str = "",
    ) -> None:
        """`base_model`: the fine-tuned folder, recorded (as a hint) in a LoRA run's adapter file."""
        self.folder = Path(folder)
        self.base_model = base_model
        self.every = every_n_steps
        self.options = options
        self.synchformer = synchformer
        self.exported: list[Path] = []

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        step = trainer.global_step
        due = self.every > 0 and step > 0 and step % self.every == 0 and trainer.is_global_zero
        if due and not any(p.name == f"step_{step:07d}" for p in self.exported):
            self.export(pl_module, self.folder / f"step_{step:07d}")

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            self.export(pl_module, self.folder / "final")

    def export(self, pl_module: pl.LightningModule, target: Path) -> Path:
        """A model folder, or in a LoRA run only the adapters: target/adapter.safetensors (with the base's
        identity, `checkpoints.lora`)."""
        from audiox.pipeline.load import save_pipeline

        lora = getattr(pl_module, "lora", None)
        with ema_weights(pl_module):
            if lora is not None:
                _export_adapter(lora, pl_module.model.backbone, target, self.base_model)
            else:
                save_pipeline(SimpleNamespace(model=pl_module.model, synchformer=self.synchformer), target,
                              options=self.options)
        self.exported.append(target)
        return target


def _export_adapter(lora: Any, backbone: Any, target: Path, base_model: str) -> Path:
    from audiox.backbone.lora import base_identity
    from audiox.checkpoints.lora import ADAPTER_FILE, save_adapter

    return save_adapter(target / ADAPTER_FILE, lora.adapter_tensors(), rank=lora.rank, alpha=lora.alpha,
                        base_sha256=base_identity(backbone, lora.targets), base_model=base_model)


def _take(batch: Mapping[str, Any], n: int) -> dict[str, Any]:
    return {k: (v[:n] if isinstance(v, (Tensor, list)) else v) for k, v in batch.items()}


def _written_at(callback: DemoCallback, step: int) -> bool:
    return any(p.name.startswith(f"demo_{step:07d}_") for p in callback.written)


@contextmanager
def _nothing() -> Iterator[None]:
    yield
