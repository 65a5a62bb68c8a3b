"""Diffusion stage: objectives, classifier-free guidance, denoiser wrappers, the conditioned model."""
