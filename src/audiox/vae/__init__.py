"""Oobleck audio VAE used as the AudioX pretransform: snake -> blocks -> oobleck -> bottleneck -> pretransform."""

from audiox.vae.oobleck import (
    AudioAutoencoder,
    OobleckDecoder,
    OobleckEncoder,
    decoder_output_length,
    encoder_output_length,
)
from audiox.vae.pretransform import AutoencoderPretransform, chunk_windows

# latent frames for a number of audio samples, given the encoder strides (no preset needed)
latent_length = encoder_output_length

__all__ = [
    "AudioAutoencoder",
    "AutoencoderPretransform",
    "OobleckDecoder",
    "OobleckEncoder",
    "chunk_windows",
    "decoder_output_length",
    "encoder_output_length",
    "latent_length",
]
