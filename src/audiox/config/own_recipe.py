"""The recipe of `audiox train-own` (sizes, rates, task weights, the model's sampler defaults), without heavy
imports, so `audiox train-own --help` can show the defaults without loading torch. The training itself is
`synth.own_training`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from audiox.errors import ConfigError

# cfg 6: best T2A category of cfg 3 / 4 / 6 / 8 / 12 on `audiox bench --tasks t2a --num 10` (21.8 / 21.5 / 25.9 / 27.8 / 23.4 %),
# and of 6 / 8 at --num 20 with V2A (T2A 25.8 / 24.6 %, V2A 25.7 / 17.7 %); measured on the bench set before its seed
# fix (`evaluation.bench_sets.BENCH_STREAM`), whose case 0 per task was a training item.
# the own model's sampler defaults (its audiox.json), per diffusion objective: the MMDiT trains with
# rectified flow, the DiT (`--backbone dit`) with the v objective, which the flow sampler cannot run
GENERATION_DEFAULTS: dict[str, dict[str, Any]] = {
    "rectified_flow": {"sampler": "rf-euler", "steps": 25, "cfg_scale": 6.0, "sigma_max": 1.0},
    "v": {"sampler": "dpmpp-3m-sde", "steps": 25, "cfg_scale": 6.0},
}
OWN_TASK_WEIGHTS = {
    "T2A": 6.0, "T2M": 2.0, "V2A": 3.0, "V2M": 1.0, "TV2A": 2.0, "TV2M": 1.0, "I2A": 1.0, "INP": 1.0, "CONT": 1.0,
}


@dataclass(frozen=True, kw_only=True, slots=True)
class OwnRecipe:
    """Sizes of one run (defaults: the shipped model, ~2 h on 2 CPU cores)."""

    backbone: str = "mmdit"
    seed: int = 0
    world_seed: int = 0
    vae_steps: int = 4500
    vae_batch: int = 16
    vae_crop: int = 6400  # samples (0.4 s at 16 kHz); a multiple of the VAE ratio
    vae_lr: float = 5e-4
    vae_log_floor: float = 1e-2  # STFT log-magnitude floor (see `vae_step_loss`)
    # STFT sizes of the VAE loss: windows up to 32 ms. Longer ones (1024, 2048 = 64, 128 ms) span several
    # 40 ms latent frames and ask the decoder for phase-continuous tones across frames; with them the tiny
    # decoder learned to leave tones out (silence costs less than a slightly wrong pitch).
    vae_fft_sizes: tuple[int, ...] = (512, 256, 128, 64)
    decoder_steps: int = 800  # stage 5: decoder-only refinement after the diffusion stage (0: none)
    # stage 5 against a multi-scale waveform discriminator too (hinge + feature matching, with the
    # `audiox train-vae` sizes and weights of `training.config.VaeTrainConfig`); see `train_vae_stage`
    decoder_adversarial: bool = False
    vae_std_bias: float = -6.0  # added to the encoder's log-scale bias at init (see `shrink_posterior_std`)
    # weight of an analyser-view log-mel L1 (`training.vae_losses.analyser_mel_loss`) in the VAE and
    # decoder losses (0: none)
    vae_mel_weight: float = 0.0
    # share of VAE / decoder crops placed on a world event (kind drawn uniformly, then one of its events; the
    # onset in the crop's first half) instead of anywhere: short events (a clap covers ~1 % of a clip) get
    # as many crops as long ones (`synth.own_training.EventCrops`; 0: uniform crops only)
    vae_event_crops: float = 0.0
    vae_probe_weight: float = 1.0  # weight of the latent spectral probe loss (`vae_step_loss`; 0: none)
    vae_encoder_log_alpha: float = 1.0  # snake log-alpha of the first encoder blocks at init (`sharpen_encoder_snakes`)
    vae_encoder_alpha_blocks: int = 2
    vae_compile: bool = True  # torch.compile the VAE for stage 1 / 5 runs of >= 200 steps
    vae_pool: int = 512  # rendered items the VAE crops from
    items: int = 1600  # cached training examples for the diffusion stage
    steps: int = 2500
    batch: int = 16
    lr: float = 6e-4
    music_prob: float = 0.25
    task_weights: dict[str, float] = field(default_factory=lambda: dict(OWN_TASK_WEIGHTS))
    # the MMDiT's request paths (own options, see `synth.training_data.build_own_model`)
    pooled_condition: bool = False
    coherent_init: bool = False
    # take the VAE (encoder, decoder, latent scale) from this model folder instead of training one:
    # stages 1, 2 and 5 are skipped
    vae_from: str | None = None
    # start the diffusion stage from this own-model folder's weights (its VAE too, unless vae_from says
    # otherwise); a request path it lacks (pooled_condition) starts at its zero-output init
    init_from: str | None = None
    # loss design (see `training.config.TrainConfig`): logit-normal t mean, event-frame weight
    timestep_mean: float = 0.0
    event_weight: float = 0.0
    # stage 2b: steps of caption-encoder pretraining on the world's captions before the cache is encoded
    # (`synth.caption_pretraining`; 0: the T5 stays as built or loaded)
    caption_pretrain_steps: int = 0
    # the caption planner (own option, `conditioning.caption_planner`): its timeline in the last `plan_slots`
    # text slots (0: no planner), trained for `planner_steps` on world captions (stage 2c) before the diffusion
    plan_slots: int = 0
    planner_steps: int = 1500
    # share of captioned diffusion training items that see the true timeline of their labels instead of the
    # planner's prediction (`synth.plan_truth`; 0: the planner's only)
    plan_truth: float = 0.0
    # `--decoder-only` (`synth.own_decoder`): a new decoder of this shape (None: the folder's) for vae_from's
    # frozen encoder
    decoder_channels: int | None = None
    decoder_c_mults: tuple[int, ...] | None = None
    decoder_widen: bool = False  # start that decoder as a function-preserving widening of the folder's
    # the folder's decoder (or the new shape) with a `vae.blocks.NoiseSource` after its last N blocks (zero-
    # initialised: it starts as the folder's decoder)
    decoder_noise: int | None = None
    # the new decoder learns the folder's own decoder's output on the same latents instead of the world audio
    # (decoder distillation: a lighter decoder that sounds like the folder's, e.g. for a distilled student)
    decoder_distill: bool = False

    def __post_init__(self) -> None:
        if self.caption_pretrain_steps < 0:
            raise ConfigError(f"train-own: caption_pretrain_steps={self.caption_pretrain_steps} must be >= 0")
        if self.plan_slots < 0 or self.planner_steps < 0:
            raise ConfigError(f"train-own: plan_slots={self.plan_slots} and planner_steps={self.planner_steps} "
                              "must be >= 0")
        for name in ("vae_steps", "vae_batch", "vae_crop", "vae_pool", "items", "steps", "batch"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"train-own: {name}={getattr(self, name)} must be > 0")
        if self.init_from is not None and self.coherent_init:
            raise ConfigError("train-own: --coherent-init re-initialises a projection; it cannot go with --init-from")
        if not 0.0 <= self.plan_truth <= 1.0:
            raise ConfigError(f"train-own: plan_truth={self.plan_truth} must be in [0, 1]")
        if self.plan_truth > 0 and self.plan_slots <= 0:
            raise ConfigError("train-own: --plan-truth needs the caption planner (--plan-slots N)")
        if not 0.0 <= self.vae_event_crops <= 1.0:
            raise ConfigError(f"train-own: vae_event_crops={self.vae_event_crops} must be in [0, 1]")
        if self.vae_mel_weight < 0:
            raise ConfigError(f"train-own: vae_mel_weight={self.vae_mel_weight} must be >= 0")
        if self.decoder_steps < 0:
            raise ConfigError(f"train-own: decoder_steps={self.decoder_steps} must be >= 0")
        if not self.vae_fft_sizes or min(self.vae_fft_sizes) < 16:
            raise ConfigError(f"train-own: vae_fft_sizes={self.vae_fft_sizes} needs at least one size, each >= 16")


def recipe_with(recipe: OwnRecipe, **changes: Any) -> OwnRecipe:
    """`recipe` with the non-None `changes` applied."""
    return replace(recipe, **{k: v for k, v in changes.items() if v is not None})
