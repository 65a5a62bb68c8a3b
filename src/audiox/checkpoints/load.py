"""Strict weight loading that explains any mismatch, and never loads part of a file.

Every key and shape is compared before a single tensor is copied; any missing, unexpected or
mis-shaped key raises one `CheckpointError` line:
`model.ckpt: 2 missing, 1 unexpected, 0 shape mismatches (first 5: missing a, b; unexpected c) for config
audiox_v1.json; hint: ...`. Hints name the likely cause when the key set looks like another official
variant (v1 vs v2 audio conditioner, dit vs mmdit backbone).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from audiox.checkpoints import keys
from audiox.checkpoints.aligned import aligned
from audiox.checkpoints.read import read_checkpoint
from audiox.errors import CheckpointError

StateDict = dict[str, torch.Tensor]
SHOWN = 5  # keys listed per kind of mismatch

# variant markers: (family, {variant: key fragment only that variant has}, what selects it in config.json)
VARIANT_MARKERS: tuple[tuple[str, dict[str, str], dict[str, str]], ...] = (
    (
        "audio conditioner",
        {"v1": ".empty_audio_feat", "v2": ".proj_features_128."},
        {
            "v1": "type 'audio_autoencoder' without latent_seq_len / mask_ratio_*",
            "v2": "type 'audio_autoencoder_v2' (or latent_seq_len / mask_ratio_* set)",
        },
    ),
    (
        "backbone",
        {"dit": ".self_attn.to_qkv.", "mmdit": ".adaLN_modulation."},
        {"dit": "model.diffusion.type 'dit'", "mmdit": "model.diffusion.type 'mmdit'"},
    ),
)


def load_into(module: nn.Module, state_dict: StateDict, *, config_name: str, source: str) -> None:
    """Strictly load `state_dict` (keys already in the module's naming) into `module`.

    Weight-norm names are matched to the module's style and tolerated keys (CLIP `position_ids`) are
    dropped or kept as the module needs. A module built on the `meta` device gets the file's tensors
    assigned (cast to the module's dtype, in 64-byte aligned memory: `checkpoints.aligned`). Raises `CheckpointError` (one line) on any mismatch; the
    module is untouched in that case.
    """
    expected = module.state_dict()
    state_dict = align_to_module(state_dict, expected)
    report = mismatch_report(state_dict, expected)
    if report:
        hint = variant_hint(state_dict, expected)
        raise CheckpointError(f"{source}: {report} for config {config_name}{hint}")
    on_meta = any(t.is_meta for t in expected.values())
    if on_meta:
        state_dict = {
            k: aligned(v.to(dtype=expected[k].dtype) if v.is_floating_point() else v) for k, v in state_dict.items()
        }
    try:
        module.load_state_dict(state_dict, strict=True, assign=on_meta)
    except RuntimeError as e:  # e.g. a dtype copy_ cannot do; keys and shapes were checked above
        raise CheckpointError(
            f"{source}: could not load into config {config_name}: {' '.join(str(e).split())[:300]}"
        ) from None


def align_to_module(state_dict: StateDict, expected: StateDict) -> StateDict:
    """Rename weight-norm keys to the module's style; drop / fill tolerated keys as the module needs."""
    parametrized = any(".parametrizations.weight.original" in k for k in expected)
    rename = keys.parametrized_weight_norm_name if parametrized else keys.legacy_weight_norm_name
    out = {rename(k): v for k, v in state_dict.items() if not (keys.is_tolerated(k) and k not in expected)}
    for key, value in expected.items():
        if keys.is_tolerated(key) and key not in out:
            out[key] = value  # the module's own buffer (not a weight)
    return out


def mismatch_report(state_dict: StateDict, expected: StateDict) -> str:
    """'' when keys and shapes agree, else 'N missing, M unexpected, K shape mismatches (first 5: ...)'."""
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = [
        f"{k} file {list(state_dict[k].shape)} vs model {list(expected[k].shape)}"
        for k in expected
        if k in state_dict and state_dict[k].shape != expected[k].shape
    ]
    if not (missing or unexpected or mismatched):
        return ""
    parts = [
        f"{label} {', '.join(items[:SHOWN])}"
        for label, items in (("missing", missing), ("unexpected", unexpected), ("shape", mismatched))
        if items
    ]
    counts = f"{len(missing)} missing, {len(unexpected)} unexpected, {len(mismatched)} shape mismatches"
    return f"{counts} (first {SHOWN}: {'; '.join(parts)})"


def variant_hint(state_dict: StateDict, expected: StateDict) -> str:
    """'; hint: ...' when the file's key set looks like another official variant than the module's."""
    hints = []
    for family, markers, selectors in VARIANT_MARKERS:
        in_file = _variants_present(state_dict, markers)
        in_model = _variants_present(expected, markers)
        if len(in_file) == 1 and len(in_model) == 1 and in_file != in_model:
            (file_variant,), (model_variant,) = in_file, in_model
            hints.append(
                f"the file has a {file_variant} {family} but the config builds {model_variant}; "
                f"use a config with {selectors[file_variant]}"
            )
    return "; hint: " + "; ".join(hints) if hints else ""


def _variants_present(names, markers: dict[str, str]) -> set[str]:
    return {variant for variant, fragment in markers.items() if any(fragment in k for k in names)}


def load_checkpoint_into(module: nn.Module, path: str | Path, *, config_name: str) -> dict[str, str]:
    """Read an official (or converted) model file, map it to internal keys, strictly load it.

    Returns the file's metadata (`config` holds the config JSON for converted files).
    """
    state_dict, metadata = read_checkpoint(path)
    load_into(module, keys.to_internal(state_dict), config_name=config_name, source=Path(path).name)
    return metadata


def load_vae_checkpoint(
    pretransform_module: nn.Module, path: str | Path, *, config_name: str = "pretransform"
) -> None:
    """Load a `vae.ckpt` (AudioAutoencoder keys `encoder.*` / `decoder.*`) into a pretransform's `.model`.

    Files holding pretransform-level (`model.encoder.*`) or model-level (`pretransform.model.*`) keys
    are accepted too. Strict: every key of the pretransform must come from the file.
    """
    state_dict, _ = read_checkpoint(path)
    load_into(pretransform_module, vae_keys(state_dict), config_name=config_name, source=Path(path).name)


def vae_keys(state_dict: StateDict) -> StateDict:
    """AudioAutoencoder-level keys -> AutoencoderPretransform keys (`model.` + key)."""
    for prefix in ("pretransform.model.", "model."):
        if all(k.startswith(prefix) for k in state_dict):
            return {"model." + k[len(prefix) :]: v for k, v in state_dict.items()}
    return {"model." + k: v for k, v in state_dict.items()}
