"""Named configs: the official full-size ones (shipped as JSON beside this file) and small ones for tests."""

from __future__ import annotations

from pathlib import Path

from audiox.errors import ConfigError

OFFICIAL_DIR = Path(__file__).parent / "official"

# name -> what it is; the JSON is the official config.json (v1 reconstructed, see its file)
OFFICIAL_CONFIGS = {
    "audiox_turbo_infer_4step": "AudioX-Turbo / AudioX-Base: MMDiT + MAF, rectified flow (configs/audiox_turbo_infer_4step.json)",
    "audiox_v1": "original AudioX: DiT, v objective (reconstructed config.json)",
}


def official_config_path(name: str) -> Path:
    """Path of a shipped official config by name (see OFFICIAL_CONFIGS)."""
    if name not in OFFICIAL_CONFIGS:
        known = ", ".join(OFFICIAL_CONFIGS)
        raise ConfigError(f"unknown official config {name!r}; known: {known}")
    return OFFICIAL_DIR / f"{name}.json"


def _tiny_vae(*, channels: int = 4, latent_dim: int = 4, strides: tuple[int, ...] = (4, 8)) -> dict:
    """A tiny Oobleck VAE section (ratio = product of strides)."""
    ratio = 1
    for s in strides:
        ratio *= s
    mults = [1] + [2] * len(strides)
    layer = {"channels": channels, "c_mults": mults[: len(strides)], "strides": list(strides), "use_snake": True}
    return {
        "type": "autoencoder",
        "iterate_batch": True,
        "config": {
            "encoder": {"type": "oobleck", "requires_grad": False,
                        "config": {"in_channels": 2, "latent_dim": 2 * latent_dim, **layer}},
            "decoder": {"type": "oobleck", "config": {"out_channels": 2, "latent_dim": latent_dim,
                                                      "final_tanh": False, **layer}},
            "bottleneck": {"type": "vae"},
            "latent_dim": latent_dim,
            "downsampling_ratio": ratio,
            "io_channels": 2,
        },
    }


def tiny_config_dict(backbone: str = "dit", *, sample_rate: int = 2048, cond_dim: int = 32) -> dict:
    """A whole AudioX config at toy size (same code path as the official models; random weights build in
    well under a second). `backbone`: "dit" (DiT + MAF, v objective, like AudioX-MAF) or "mmdit" (MMDiT +
    MAF, rectified flow, like AudioX-Turbo). Windows are 10 s like the official conditioners; the VAE
    downsamples by 32 and the video conditioner runs at 1 fps. cond_dim = the tiny CLIP width."""
    vae = _tiny_vae()
    ratio = vae["config"]["downsampling_ratio"]
    prompt_latents = 10 * sample_rate // ratio
    sample_size = 11 * sample_rate
    objective = "v" if backbone == "dit" else "rectified_flow"
    diffusion_config = {
        # DiT heads need >= 32 dims (official rotary quirk); the MMDiT's `num_heads` is its head dim
        "io_channels": 4, "embed_dim": 64 if backbone == "dit" else 32, "depth": 2,
        "num_heads": 2 if backbone == "dit" else 8,
        "cond_token_dim": cond_dim, "global_cond_dim": 32, "project_cond_tokens": False,
        "transformer_type": "continuous_transformer",
    }
    if backbone == "mmdit":
        diffusion_config["_latent_seq_len"] = sample_size // ratio + 1
    return {
        "model_type": "diffusion_cond",
        "sample_size": sample_size,
        "sample_rate": sample_rate,
        "audio_channels": 2,
        "video_fps": 1,
        "model": {
            "io_channels": 4,
            "pretransform": vae,
            "conditioning": {
                "cond_dim": cond_dim,
                "configs": [
                    {"id": "video_prompt", "type": "clip-with-sync-w-empty-feat", "config": {"video_fps": 1}},
                    {"id": "text_prompt", "type": "t5", "config": {"t5_model_name": "t5-small", "max_length": 128}},
                    {"id": "audio_prompt", "type": "audio_autoencoder",
                     "config": {"sample_rate": sample_rate, "pretransform_config": vae,
                                "latent_seq_len": prompt_latents, "mask_ratio_start": 0.0, "mask_ratio_end": 0.0}},
                ],
            },
            "diffusion": {
                "type": backbone,
                "cross_attention_cond_ids": ["video_prompt", "text_prompt", "audio_prompt"],
                "diffusion_objective": objective,
                "gate": True,
                "gate_type": "MAF",
                "gate_type_config": {"num_experts_per_modality": 2, "num_heads": 2, "num_fusion_layers": 1},
                "config": diffusion_config,
            },
        },
    }


def tiny_config(backbone: str = "dit", **kwargs):
    """`tiny_config_dict` parsed strictly into an AudioXConfig."""
    from audiox.config.parse import parse_config

    return parse_config(tiny_config_dict(backbone, **kwargs), source=f"tiny_config({backbone!r})")
