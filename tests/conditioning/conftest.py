"""Tiny stand-ins for the pretrained encoders (`audiox.conditioning.tiny_encoders`) and a tiny VAE config
for the audio conditioners."""

from __future__ import annotations

import pytest

from audiox.conditioning.text_t5 import T5TextEncoder
from audiox.conditioning.tiny_encoders import tiny_clip_config, tiny_t5
from audiox.config.parse import parse_section
from audiox.config.schema import AudioConditionerConfig

TINY_VAE = {
    "type": "autoencoder",
    "iterate_batch": True,
    "config": {
        "encoder": {
            "type": "oobleck",
            "config": {
                "in_channels": 2,
                "channels": 4,
                "c_mults": [1, 2],
                "strides": [2, 2],
                "latent_dim": 6,
                "use_snake": True,
            },
        },
        "decoder": {
            "type": "oobleck",
            "config": {
                "out_channels": 2,
                "channels": 4,
                "c_mults": [1, 2],
                "strides": [2, 2],
                "latent_dim": 3,
                "use_snake": True,
                "final_tanh": False,
            },
        },
        "bottleneck": {"type": "vae"},
        "latent_dim": 3,
        "downsampling_ratio": 4,
        "io_channels": 2,
    },
}


def audio_config(**fields) -> AudioConditionerConfig:
    return parse_section(
        AudioConditionerConfig, {"sample_rate": 44100, "pretransform_config": TINY_VAE, **fields}
    )


@pytest.fixture
def t5_encoder() -> T5TextEncoder:
    return tiny_t5(d_model=16)


__all__ = ["TINY_VAE", "audio_config", "tiny_clip_config", "tiny_t5"]
