"""Golden-vector case runners for the vae stage: `oobleck_vae` (set A) and `vae_oobleck` (set B).

Both build `AutoencoderPretransform` from `config.json:model.pretransform`, load the `pretransform.*`
keys strictly and run the calls listed in case.json. The two sets name some outputs differently; every
name of both styles is produced (the runner compares the ones the case has).
"""

from __future__ import annotations

import torch

from audiox.config.parse import parse_section
from audiox.config.schema import PretransformConfig
from audiox.conformance.case import Case, load_case_weights
from audiox.conformance.kinds import CaseKind
from audiox.errors import InputError
from audiox.vae import bottleneck
from audiox.vae.pretransform import AutoencoderPretransform

PREFIX = "pretransform."  # full-model checkpoint prefix of the main VAE


def build_pretransform(case: Case) -> AutoencoderPretransform:
    """The case's VAE with its weights loaded strictly (keys `pretransform.model.*` minus `pretransform.`)."""
    cfg = parse_section(
        PretransformConfig, case.config["model"]["pretransform"], path="model.pretransform", strict=False
    )
    return load_case_weights(AutoencoderPretransform(cfg), case, PREFIX)


def _input(case: Case, name: str) -> torch.Tensor:
    if name not in case.inputs:
        raise InputError(f"{case.name}: input {name!r} missing; have {sorted(case.inputs)}")
    return case.inputs[name]


def run_vae(case: Case) -> dict[str, torch.Tensor]:
    """encoder output, posterior, the sample with the recorded noise, KL, and three decodes."""
    pt = build_pretransform(case)
    audio, noise, z = _input(case, "audio"), _input(case, "bottleneck_noise"), _input(case, "z")
    # set A recorded `pretransform.model.encoder(audio)` (whole batch), set B `cat_i ...(audio[i:i+1])`
    per_item = "[i:i+1]" in str(case.meta.get("calls", {}).get("encoder_out", ""))
    features = pt.model.encode_features(audio, iterate_batch=per_item)  # (B, 2D, L)
    mean, std = bottleneck.posterior(features)
    sampled = pt.encode(audio, noise=noise)
    decoded_mean = pt.decode(mean)
    out = {
        "encoder_out": features,
        "latent_mean": mean,
        "latent_std": std,
        "latents_sampled": sampled,  # set A name
        "latent_sample": sampled,  # set B name
        "kl": bottleneck.kl_divergence(mean, std).reshape(1),  # the harness stores the scalar as shape [1]
        "decoded_from_sampled": pt.decode(sampled),
        "decoded_from_z": pt.decode(z),
        "decoded_from_mean": decoded_mean,  # set A name
        "decoded_from_latent_mean": decoded_mean,  # set B name
    }
    return out


def vae_tolerance(name: str, ref: torch.Tensor) -> tuple[float, float]:
    """case.json prose: atol 1e-5 x max(1, max|ref|) for encoder/latent outputs, 2e-5 x for decodes; rtol 1e-4."""
    scale = max(1.0, float(ref.abs().max())) if ref.numel() else 1.0
    return (2e-5 if name.startswith("decoded") else 1e-5) * scale, 1e-4


CASE_KINDS: dict[str, CaseKind] = {
    "oobleck_vae": CaseKind(run=run_vae, default_tolerance=vae_tolerance),
    "vae_oobleck": CaseKind(run=run_vae, default_tolerance=vae_tolerance),
}
