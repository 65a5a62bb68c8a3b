"""The config of audiox's own small model (shipped inside the package), in the official config.json schema.

Same architecture and code path as the official models (Oobleck VAE, t5 + clip + audio_autoencoder v2
conditioners, MAF, DiT or MMDiT, the official samplers) at sizes that keep the weights <= 25 MB and one
10 s generation on 2 CPU cores well under 30 s (`benchmarks/own_model_budget.py` measures both).

Choices (one place; `OWN_SIZES`):
- 16 kHz mono; VAE strides (2, 4, 8, 10): 640x in time, 25 latent frames/s, 250 frames per 10 s, latent
  dim 32 (20x fewer numbers than samples); encoder 16 channels, decoder 32, channel multipliers
  (1, 2, 4, 8) (the encoder is stored twice). A first stride of 2 (not 4) gives the encoder one more
  full-rate layer, which it needs to hear tones above ~1 kHz (whistles, bells, chirps); one VAE training
  step of 16 x 0.4 s takes ~0.6 s on 2 CPU cores with torch.compile.
  Windows are exactly 10 s (`sample_size` = 160000), even strides so decoded length = frames x 640.
- Conditioners: `t5` with our own tokenizer and a small T5 (`conditioning.caption_tokenizer`, d_model
  128, frozen like the official T5, `project_out` so `proj_out` is a trainable Linear); `clip` (the
  original AudioX video conditioner, no Synchformer needed) with a small CLIP vision tower on 64 px
  frames at 10 fps; `audio_autoencoder` v2 (latent_seq_len 250, no inference-time span masking).
  cond_dim = the CLIP width (the video tokens are not projected: official quirk).
- The audio prompt's VAE copy has the main VAE's encoder and a 1-channel stub decoder: the official code
  never runs that copy's decoder, so it only costs bytes (saved: ~1 M parameters).
- Weights: 9.5 M parameters with the MMDiT (5.9 M of them the MMDiT), 11.0 M with the DiT (7.5 M), T5
  (0.3 M) included: 19.1 / 22.1 MB as float16 safetensors, the shipped dtype (`OWN_STORAGE_DTYPE`; the
  strict loader casts to the model's float32 on load). The shipped model is the MMDiT one
  (`synth.own_training`).
- `t5_model_name` "audiox-own-t5" is a label: the encoder always comes from the folder's `t5/`.
"""

from __future__ import annotations

from typing import Any

OWN_SAMPLE_RATE = 16000
OWN_CHANNELS = 1
OWN_WINDOW_S = 10
OWN_STORAGE_DTYPE = "float16"
MAX_WEIGHT_BYTES = 25_000_000  # 25 MB (decimal), all weight files of the folder together

OWN_SIZES: dict[str, Any] = {
    # the encoder (two copies: the main VAE and the audio prompt's) is narrower than the decoder
    "vae": {"c_mults": (1, 2, 4, 8), "strides": (2, 4, 8, 10), "latent_dim": 32},
    "vae_encoder_channels": 16,
    "vae_decoder_channels": 32,
    "cond_dim": 128,
    "video_fps": 10,
    "text_max_length": 128,  # the MMDiT's context is hard-wired to 128 text + 128 video + 128 audio tokens
    "dit": {"embed_dim": 256, "depth": 6, "num_heads": 4},  # 4 heads of 64
    "mmdit": {"embed_dim": 192, "depth": 4, "num_heads": 32},  # official quirk: num_heads = head DIM
    "maf": {"num_experts_per_modality": 8, "num_heads": 4, "num_fusion_layers": 1, "mlp_ratio": 2.0},
}

# The own text encoder (`audiox.conditioning.caption_tokenizer.small_t5` keyword arguments).
OWN_T5_SIZES: dict[str, int] = {"d_model": 128, "num_layers": 2, "num_heads": 4, "d_ff": 256}

# The own CLIP vision tower (a transformers CLIPVisionConfig as a dict; `audiox.json` "vision_config").
OWN_VISION_CONFIG: dict[str, Any] = {
    "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
    "patch_size": 16, "image_size": 64, "projection_dim": 32, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5,
}

# The temporal transformer of the video conditioner (`audiox.json` "temporal_sizes").
OWN_TEMPORAL_SIZES: dict[str, int] = {
    "temporal_depth": 1, "temporal_heads": 4, "temporal_dim_head": 32, "temporal_mlp_dim": 256,
}


def _oobleck(kind: str, *, channels: int, c_mults, strides, latent_dim: int) -> dict:
    """One Oobleck encoder/decoder spec (mono, snake activations, no final tanh like Turbo)."""
    layer = {"channels": channels, "c_mults": list(c_mults), "strides": list(strides), "use_snake": True}
    if kind == "encoder":
        return {"type": "oobleck", "requires_grad": False,
                "config": {"in_channels": OWN_CHANNELS, "latent_dim": 2 * latent_dim, **layer}}
    return {"type": "oobleck",
            "config": {"out_channels": OWN_CHANNELS, "latent_dim": latent_dim, "final_tanh": False, **layer}}


def own_vae_dict(*, stub_decoder: bool = False, scale: float = 1.0) -> dict:
    """The own VAE pretransform section; `stub_decoder`: a 1-channel decoder (for the audio prompt's copy,
    whose decoder never runs), same strides so the section stays a valid VAE of the same ratio; `scale`:
    latents = posterior / scale (the trained VAE's latent std, so the diffusion sees unit-scale data)."""
    v = OWN_SIZES["vae"]
    ratio = 1
    for s in v["strides"]:
        ratio *= s
    encoder_sizes = dict(v, channels=OWN_SIZES["vae_encoder_channels"])
    decoder_sizes = dict(v, channels=OWN_SIZES["vae_decoder_channels"])
    if stub_decoder:
        decoder_sizes = dict(v, channels=1, c_mults=[1] * len(v["c_mults"]))
    return {
        "type": "autoencoder",
        "iterate_batch": True,
        "scale": scale,
        "config": {
            "encoder": _oobleck("encoder", **encoder_sizes),
            "decoder": _oobleck("decoder", **decoder_sizes),
            "bottleneck": {"type": "vae"},
            "latent_dim": v["latent_dim"],
            "downsampling_ratio": ratio,
            "io_channels": OWN_CHANNELS,
        },
    }


def own_latent_frames() -> int:
    """Latent frames of one 10 s window (sample_size / downsampling_ratio)."""
    return own_sample_size() // own_vae_dict()["config"]["downsampling_ratio"]


def own_sample_size() -> int:
    """Samples of one generation window: exactly 10 s."""
    return OWN_WINDOW_S * OWN_SAMPLE_RATE


def _conditioning(scale: float, plan_slots: int = 0, plan_channels: int = 0, plan_concrete: bool = False) -> dict:
    text = {"t5_model_name": "audiox-own-t5", "max_length": OWN_SIZES["text_max_length"], "project_out": True}
    if plan_slots > 0:  # own option: see conditioning.caption_planner
        text.update(plan_slots=plan_slots, plan_channels=plan_channels)
        if plan_concrete:  # own option: see conditioning.plan_concrete
            text["plan_concrete"] = True
    return {
        "cond_dim": OWN_SIZES["cond_dim"],
        "configs": [
            {"id": "video_prompt", "type": "clip", "config": {"video_fps": OWN_SIZES["video_fps"]}},
            {"id": "text_prompt", "type": "t5", "config": text},
            {"id": "audio_prompt", "type": "audio_autoencoder",
             "config": {"sample_rate": OWN_SAMPLE_RATE, "pretransform_config": own_vae_dict(stub_decoder=True, scale=scale),
                        "latent_seq_len": own_latent_frames(), "mask_ratio_start": 0.0, "mask_ratio_end": 0.0}},
        ],
    }


def _backbone(backbone: str, pooled_condition: bool) -> dict:
    latent_dim = OWN_SIZES["vae"]["latent_dim"]
    config = {
        "io_channels": latent_dim, **OWN_SIZES[backbone], "cond_token_dim": OWN_SIZES["cond_dim"],
        "global_cond_dim": 0, "project_cond_tokens": False, "transformer_type": "continuous_transformer",
    }
    if backbone == "mmdit":
        config["_latent_seq_len"] = own_latent_frames() + 1  # the time token + the latent frames
        if pooled_condition:
            config["pooled_condition"] = True  # own option: see backbone.mmdit.PooledCondition
    return config


def own_small_config_dict(backbone: str = "dit", *, latent_scale: float = 1.0, pooled_condition: bool = False,
                          plan_slots: int = 0, plan_channels: int = 0, plan_concrete: bool = False) -> dict:
    """The own model's whole config.json. `backbone`: "dit" (DiT + MAF, v objective, like AudioX-MAF) or
    "mmdit" (MMDiT + MAF, rectified flow, like AudioX-Turbo before distillation); `latent_scale`: the
    pretransform scale of both VAE copies (see `own_vae_dict`); `pooled_condition`: the MMDiT's pooled
    request path (own option); `plan_slots` / `plan_channels`: the caption planner's timeline in the text
    conditioner (own option, 0: none); `plan_concrete`: that timeline made concrete (own option, for a model
    trained on true timelines)."""
    if backbone not in ("dit", "mmdit"):
        from audiox.errors import ConfigError

        raise ConfigError(f"own model backbone {backbone!r}: use 'dit' or 'mmdit'")
    return {
        "model_type": "diffusion_cond",
        "sample_size": own_sample_size(),
        "sample_rate": OWN_SAMPLE_RATE,
        "audio_channels": OWN_CHANNELS,
        "video_fps": OWN_SIZES["video_fps"],
        "model": {
            "io_channels": OWN_SIZES["vae"]["latent_dim"],
            "pretransform": own_vae_dict(scale=latent_scale),
            "conditioning": _conditioning(latent_scale, plan_slots, plan_channels, plan_concrete),
            "diffusion": {
                "type": backbone,
                "cross_attention_cond_ids": ["video_prompt", "text_prompt", "audio_prompt"],
                "diffusion_objective": "v" if backbone == "dit" else "rectified_flow",
                "gate": True,
                "gate_type": "MAF",
                "gate_type_config": dict(OWN_SIZES["maf"]),
                "config": _backbone(backbone, pooled_condition),
            },
        },
    }


def own_small_config(backbone: str = "dit", *, latent_scale: float = 1.0, pooled_condition: bool = False,
                     plan_slots: int = 0, plan_channels: int = 0, plan_concrete: bool = False):
    """`own_small_config_dict` parsed strictly into an AudioXConfig."""
    from audiox.config.parse import parse_config

    config = own_small_config_dict(backbone, latent_scale=latent_scale, pooled_condition=pooled_condition,
                                   plan_slots=plan_slots, plan_channels=plan_channels, plan_concrete=plan_concrete)
    return parse_config(config, source=f"own_small_config({backbone!r})")


def own_model_options() -> dict[str, Any]:
    """The `audiox.json` of an own-model folder (JSON-able): CLIP tower, temporal sizes, T5 in float32."""
    return {
        "vision_config": dict(OWN_VISION_CONFIG),
        "temporal_sizes": dict(OWN_TEMPORAL_SIZES),
        "text_encoder_dtype": "float32",
    }
