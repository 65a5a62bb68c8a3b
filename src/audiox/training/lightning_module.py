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

Cached batches (`audiox train --data CACHE_DIR`, see `training.encode_dataset`) take the same steps
and the same draws, in the same order, without any frozen encoder: x0 = std * eps + mean from the cached
posterior; the text uses the cached T5 states (before `proj_out`), the video the cached CLIP states
(before the temporal transformer) and sync features, the audio prompt its cached posterior. Input
masking is reproduced exactly from the cache for text (the cached T5 states of the default sentence or
""), video (the learned empty feature, as for an all-zero video) and whole audio prompts (the cached
posterior of silence; v1 also uses `empty_audio_feat`). Not reproducible from latents: a zeroed SPAN of
the prompt waveform. Without a cached waveform, every audio-masked item therefore loses its whole
prompt (span masks fall back to whole-prompt dropout: with the defaults 60 % whole instead of 30 %
whole + 30 % span). A conditioner that masks spans itself (v2 with mask_ratio_start < mask_ratio_end,
the shipped Turbo configs) makes encode-dataset cache the prompt waveform; then the prompt is masked
exactly like a raw one and goes through the conditioner, i.e. its frozen VAE encoder still runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

import lightning.pytorch as pl
import torch
from einops import rearrange
from torch import Tensor, nn

from audiox.backbone.lora import LoraAdapters, linear_targets
from audiox.conditioning.audio_latent import AudioLatentConditionerV1, AudioLatentConditionerV2, batch_audio
from audiox.conditioning.conditioner_set import Condition, VideoWithSync
from audiox.conditioning.text_t5 import T5TextConditioner
from audiox.conditioning.video_clip import SYNC_TOKENS, ClipSyncVideoConditioner, ClipVideoBase
from audiox.diffusion.model import DiffusionModel
from audiox.errors import ConfigError, InputError
from audiox.training.config import TrainConfig
from audiox.training.ema import EMA
from audiox.training.losses import diffusion_loss, noised_input_and_target, sample_timesteps, sobol_engine
from audiox.training.masking import InputMaskingConfig, cfg_dropout, mask_audio_prompt, mask_inputs
from audiox.training.schedules import build_optimizer
from audiox.vae import bottleneck
from audiox.vae.pretransform import AutoencoderPretransform

# inside conditioners: the CLIP tower, the VAE copy, the own caption planner
FROZEN_SUBMODULES = ("visual_encoder_model", "pretransform", "planner")


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
    pretransform = model.pretransform
    if pretransform is None:
        raise ConfigError("diffusion training needs model.pretransform (a VAE) in the model config")
    shape = (audio.shape[0], pretransform.latent_dim, pretransform.latent_length(audio.shape[-1]))
    noise = posterior_noise(pretransform, shape, generator, audio.device)
    autocast = torch.autocast(audio.device.type, enabled=False) if audio.device.type == "cuda" else nullcontext()
    with torch.no_grad(), autocast:
        return pretransform.encode(audio.float(), noise=noise, generator=generator)


def posterior_noise(
    pretransform: AutoencoderPretransform, shape: tuple[int, ...], generator: torch.Generator, device: torch.device
) -> Tensor | None:
    """The N(0, 1) draw (B, D, L) that `pretransform.encode` would make (None: no bottleneck, no draw),
    drawn on the CPU and moved to `device`, so a CPU generator serves any device."""
    if pretransform.cfg.config.bottleneck is None:
        return None
    return torch.randn(shape, generator=generator).to(device)


def fused_context(model: DiffusionModel, batch: Mapping[str, Any], generator: torch.Generator) -> Tensor:
    """Conditioners + MAF on a (masked) raw batch, or a cached batch without masking -> context (B, N, D)."""
    if is_cached_batch(batch):
        return cached_context(model, batch, no_input_masks(len(batch["text_prompt"])), generator)
    conditions = model.conditioner(conditioner_inputs_from_batch(model, batch), generator=generator)
    context, _ = model.fuse(conditions)
    return context


def diffusion_loss_for_batch(
    model: DiffusionModel, batch: Mapping[str, Any], cfg: TrainConfig, generator: torch.Generator
) -> Tensor:
    """The training loss of one collated batch, raw or cached (see the module docstring); draws only
    from `generator`."""
    x0, context = target_and_context(model, batch, cfg.masking, generator)
    return loss_from_context(model, x0, context, batch["padding_mask"], cfg, generator)


def target_and_context(
    model: DiffusionModel, batch: Mapping[str, Any], masking: InputMaskingConfig, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Steps 1-3 before CFG dropout: x0 (B, C, L) and the input-masked context (B, N, D) of a raw or
    cached batch (gradients reach the context's trainable layers; wrap in no_grad where they must not)."""
    if is_cached_batch(batch):
        x0 = sample_posterior(model.pretransform, batch["latent_mean"], batch["latent_std"], generator)
        masks = draw_input_masks(batch, masking, generator)
        return x0, cached_context(model, batch, masks, generator, text_replacement=masking.text_replacement)
    x0 = encode_target(model, batch["audio"], generator)  # (B, C, L)
    masked, _ = mask_inputs(dict(batch), masking, generator)
    return x0, fused_context(model, masked, generator)  # (B, N, D)


def loss_from_context(
    model: DiffusionModel, x0: Tensor, context: Tensor, padding_mask: Tensor, cfg: TrainConfig,
    generator: torch.Generator,
) -> Tensor:
    """Steps 3 (CFG dropout) to 5. x0: (B, C, L), context: (B, N, D), padding_mask: (B, S) -> loss ()."""
    context, _ = cfg_dropout(context, cfg.cfg_dropout_prob, generator)
    batch_size = x0.shape[0]
    if cfg.timestep_sampler == "uniform":
        sobol = sobol_engine(int(torch.randint(2**31 - 1, (), generator=generator)))
        t = sample_timesteps(batch_size, "uniform", sobol=sobol)
    else:
        t = sample_timesteps(batch_size, "logit_normal", generator=generator, mean=cfg.timestep_mean)
    t = t.to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    z, _ = noised_input_and_target(model.objective, x0, noise, t)
    output = model.backbone(z, t, context)  # (B, C, L)
    padding = padding_mask if cfg.mask_padding else None
    return diffusion_loss(model.objective, output.float(), x0, noise, t, padding, event_weight=cfg.event_weight)


# ------------------------------------------------------------------------------ cached batches


def is_cached_batch(batch: Mapping[str, Any]) -> bool:
    """True for a batch of `encode_dataset.CachedDataset` (cached latents instead of audio)."""
    return "latent_mean" in batch


def sample_posterior(
    pretransform: AutoencoderPretransform | None, mean: Tensor, std: Tensor, generator: torch.Generator
) -> Tensor:
    """A VAE posterior sample from cached mean, std: (B, D, L), drawn like `pretransform.encode`."""
    if pretransform is None:
        raise ConfigError("diffusion training needs model.pretransform (a VAE) in the model config")
    noise = posterior_noise(pretransform, tuple(mean.shape), generator, mean.device)
    return mean if noise is None else bottleneck.sample(mean, std, noise)


def draw_input_masks(batch: Mapping[str, Any], masking: InputMaskingConfig, generator: torch.Generator) -> dict[str, Tensor]:
    """The masks `mask_inputs` would draw for this batch (same draws, same order): text, video, audio
    (B,) bool and audio_samples (B, P) over the cached prompt waveform (P = 1 without one). CPU tensors."""
    size = len(batch["text_prompt"])
    length = batch["prompt_audio"].shape[-1] if "prompt_audio" in batch else 1
    stand_in = {"text_prompt": list(batch["text_prompt"]), "data_type": list(batch["data_type"]),
                "audio_prompt": torch.empty(size, 0, length)}  # no values: only the draws are wanted
    _, masks = mask_inputs(stand_in, masking, generator)
    return masks


def no_input_masks(batch_size: int) -> dict[str, Tensor]:
    """Masks that hide nothing (for demos from a cached batch)."""
    none = torch.zeros(batch_size, dtype=torch.bool)
    return {"text": none, "video": none, "audio": none, "audio_samples": torch.zeros(batch_size, 1, dtype=torch.bool)}


def cached_context(
    model: DiffusionModel, batch: Mapping[str, Any], masks: Mapping[str, Tensor], generator: torch.Generator,
    *, text_replacement: str = "default",
) -> Tensor:
    """The trainable parts of the conditioners on cached features, with `masks` applied, then MAF
    -> context (B, N, D). Conditioners run in config order, as `ConditionerSet`."""
    conditions: dict[str, Condition] = {}
    for cond_id, conditioner in model.conditioner.conditioners.items():
        if isinstance(conditioner, T5TextConditioner):
            conditions[cond_id] = _cached_text(conditioner, batch, masks["text"], text_replacement)
        elif isinstance(conditioner, ClipVideoBase):
            conditions[cond_id] = _cached_video(conditioner, batch, masks["video"])
        else:
            conditions[cond_id] = _cached_audio_prompt(conditioner, batch, masks, generator)
    context, _ = model.fuse(conditions)
    return context


def _cached(batch: Mapping[str, Any], key: str) -> Any:
    if key not in batch:
        raise InputError(f"the cache has no {key!r} for this model's conditioners; re-run `audiox encode-dataset`")
    return batch[key]


def _cached_text(conditioner: T5TextConditioner, batch: Mapping[str, Any], mask: Tensor, replacement: str) -> Condition:
    """Cached T5 states (B, T, E); masked items take those of the default sentence or of ""."""
    hidden, attention = _cached(batch, "text_hidden"), _cached(batch, "text_mask")
    mask = mask.to(hidden.device)
    hidden = torch.where(mask[:, None, None], batch[f"text_{replacement}_hidden"], hidden)  # (B, T, E)
    attention = torch.where(mask[:, None], batch[f"text_{replacement}_mask"], attention)  # (B, T)
    if batch.get("plan_truth") is not None and conditioner.planner is not None:  # own planner, teacher-forced
        rows = batch["plan_truth_rows"].to(mask.device) & ~mask  # a masked caption keeps the planner's plan
        return conditioner.project_hidden(hidden, attention, plan=batch["plan_truth"], plan_rows=rows)
    return conditioner.project_hidden(hidden, attention)


def _cached_video(conditioner: ClipVideoBase, batch: Mapping[str, Any], mask: Tensor) -> Condition:
    """Cached CLIP states (B, F, Q, W) (zeros where absent); absent or masked items get the learned empty
    feature, exactly as an all-zero raw video does (CLIP output of such items is replaced anyway)."""
    has_video = batch["has_video"]
    size, device = has_video.shape[0], has_video.device
    clip = batch["clip_hidden"]
    if clip is None:
        shape = (size, conditioner.num_frames, conditioner.tokens_per_frame, conditioner.clip_width)
        clip = torch.zeros(shape, device=device)
    clip = rearrange(clip, "b f q w -> (b f) q w")
    # the conditioner reads its video argument only for the all-zero test: one value per item is enough
    presence = (has_video & ~mask.to(device)).float()[:, None]  # (B, 1), 0 = no video
    if isinstance(conditioner, ClipSyncVideoConditioner):
        sync = batch["sync_features"]
        if sync is None:
            sync = torch.zeros(size, SYNC_TOKENS, conditioner.clip_width, device=device)
        return conditioner.condition_from_clip(clip, presence, sync)
    return conditioner.condition_from_clip(clip, presence)


def _cached_audio_prompt(
    conditioner: Any, batch: Mapping[str, Any], masks: Mapping[str, Tensor], generator: torch.Generator
) -> Condition:
    """The audio-prompt tokens from the cached waveform (masked exactly, conditioner run) or from the
    cached posterior (audio-masked items: the posterior of silence)."""
    if "prompt_audio" in batch:
        return _prompt_tokens_from_audio(conditioner, batch["prompt_audio"], masks["audio_samples"], generator)
    if getattr(conditioner, "masks_spans", False):
        raise ConfigError(
            "the audio conditioner masks random spans of its prompt, which cached latents cannot reproduce; "
            "re-run `audiox encode-dataset` with this model (it then caches the prompt waveform)"
        )
    mean = _cached(batch, "prompt_mean")
    masked = masks["audio"].to(mean.device)
    mean = torch.where(masked[:, None, None], batch["prompt_zero_mean"], mean)  # (B, D, L')
    std = torch.where(masked[:, None, None], batch["prompt_zero_std"], batch["prompt_std"])
    latents = sample_posterior(conditioner.pretransform, mean, std, generator)
    # the rest mirrors AudioLatentConditionerV1.forward / V2.tokens_from_audio after their VAE
    if isinstance(conditioner, AudioLatentConditionerV1):
        tokens = conditioner.proj_out(latents.transpose(1, 2))  # (B, L', cond_dim)
        if tokens.shape[1] != conditioner.empty_audio_feat.shape[1]:
            raise InputError(f"cached prompt has {tokens.shape[1]} latent frames, the v1 conditioner needs "
                             f"{conditioner.empty_audio_feat.shape[1]}")
        silent = batch["prompt_silent"].to(mean.device) | masked
        tokens = torch.where(silent[:, None, None], conditioner.empty_audio_feat.expand_as(tokens), tokens)
    else:
        if latents.shape[-1] != conditioner.latent_seq_len:
            raise InputError(f"cached prompt has {latents.shape[-1]} latent frames, the conditioner needs "
                             f"latent_seq_len={conditioner.latent_seq_len}")
        tokens = conditioner.proj_out(conditioner.proj_features_128(latents).transpose(1, 2))  # (B, 128, cond_dim)
    return tokens, torch.ones(tokens.shape[0], tokens.shape[2], device=tokens.device)


def _prompt_tokens_from_audio(
    conditioner: Any, audio: Tensor, sample_mask: Tensor, generator: torch.Generator
) -> Condition:
    """The conditioner's own path on a cached prompt waveform (B, C, P), after the input-masking zeros
    (sample_mask (B, P)): its span draws, then its VAE draw (made on the CPU), as in its forward."""
    audio = mask_audio_prompt(audio, sample_mask.to(audio.device))  # (B, C, P)
    audio = batch_audio(audio, channels=conditioner.pretransform.io_channels)
    if isinstance(conditioner, AudioLatentConditionerV2):
        audio = conditioner.mask_audio(audio, generator=generator)
    pretransform = conditioner.pretransform
    shape = (audio.shape[0], pretransform.latent_dim, pretransform.latent_length(audio.shape[-1]))
    noise = posterior_noise(pretransform, shape, generator, audio.device)
    if isinstance(conditioner, AudioLatentConditionerV2):
        return conditioner.tokens_from_audio(audio, noise=noise, generator=generator)
    return conditioner(audio, noise=noise, generator=generator)


class DiffusionTrainingModule(pl.LightningModule):
    """Wraps a DiffusionModel for Lightning: loss, AdamW + InverseLR, EMA of the backbone (of the LoRA
    adapters in a LoRA run, where nothing else trains)."""

    def __init__(self, model: DiffusionModel, cfg: TrainConfig) -> None:
        super().__init__()
        if model.conditioner is None:
            raise ConfigError("diffusion training needs model.conditioning in the model config")
        self.model = model
        self.cfg = cfg
        self.lora = None
        if cfg.lora.rank > 0:  # adapters only: the model itself stays frozen (and keeps its state-dict keys)
            targets = linear_targets(model.backbone, cfg.lora.targets)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(cfg.run.seed)
                self.lora = LoraAdapters(model.backbone, targets, rank=cfg.lora.rank, alpha=cfg.lora.alpha)
            self.lora.attach(model.backbone)
            model.requires_grad_(False)
            self.trainable = list(self.lora.parameters())
        else:
            self.trainable = set_trainable(model)
        self.ema = EMA(self.ema_target, cfg.ema) if cfg.use_ema else None

    @property
    def ema_target(self) -> nn.Module:
        """What trains and is averaged / exported: the adapters in a LoRA run, else the backbone."""
        return self.lora if self.lora is not None else self.model.backbone

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
