"""Golden-vector case runners for the conditioning stage (T5, CLIP video, audio-latent conditioners).

Pretrained encoders (T5, CLIP, Synchformer) are bypassed by the cases: their recorded outputs are fed to
the "after the encoder" methods of our conditioners. Set A and set B name the same things differently
(`embeddings`/`tokens`, `attention_mask`/`mask`, `*_real` inputs); both are handled.
"""

from __future__ import annotations

import json
import re
from typing import Any

import torch
from torch import Tensor, nn

from audiox.conditioning.audio_latent import (
    AudioLatentConditionerV1,
    AudioLatentConditionerV2,
    SpanMaskDraws,
    batch_audio,
    draw_span_mask,
    span_lengths,
)
from audiox.conditioning.text_t5 import T5TextConditioner
from audiox.conditioning.video_clip import ClipSyncVideoConditioner, ClipVideoConditioner, all_zero_items
from audiox.config.parse import parse_section
from audiox.config.schema import (
    AudioConditionerConfig,
    ClipConditionerConfig,
    ClipSyncConditionerConfig,
    ConditionerSpec,
    T5ConditionerConfig,
    audio_conditioner_variant,
)
from audiox.conformance.case import Case, load_case_weights
from audiox.conformance.kinds import CaseKind
from audiox.errors import InputError


def conditioner_spec(case: Case, config_cls: type, index: int = 0) -> tuple[ConditionerSpec, int]:
    """(the case's conditioner spec with its typed config, cond_dim) from config.json `model.conditioning`."""
    conditioning = case.config["model"]["conditioning"]
    raw = conditioning["configs"][index]
    path = f"model.conditioning.configs[{index}].config"
    cfg = parse_section(config_cls, raw["config"], path=path, source="config.json", strict=False)
    return ConditionerSpec(id=raw["id"], type=raw["type"], config=cfg), int(conditioning["cond_dim"])


def first_present(mapping: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in mapping:
            return mapping[name]
    raise InputError(f"none of {names} in the case tensors ({sorted(mapping)})")


# ------------------------------------------------------------------------------------------------ T5


def run_t5_conditioner(case: Case) -> dict[str, Tensor]:
    spec, cond_dim = conditioner_spec(case, T5ConditionerConfig)
    hidden = case.inputs["t5_last_hidden_state"]
    conditioner = T5TextConditioner(spec.config, output_dim=cond_dim)
    load_case_weights(conditioner, case, f"conditioner.conditioners.{spec.id}.")
    tokens, mask = conditioner.project_hidden(hidden, case.inputs["attention_mask"])
    return {"embeddings": tokens, "attention_mask": mask, "tokens": tokens, "mask": mask}


# ------------------------------------------------------------------------------------------- video


def _temporal_sizes(case: Case) -> dict[str, int]:
    """Harness-shrunk temporal transformer sizes as our keyword arguments (official defaults otherwise)."""
    numbers = case.harness_numbers("Temp_transformer")
    names = {
        "depth": "temporal_depth",
        "heads": "temporal_heads",
        "dim_head": "temporal_dim_head",
        "mlp_dim": "temporal_mlp_dim",
    }
    return {ours: numbers[theirs] for theirs, ours in names.items() if theirs in numbers}


def _clip_hidden(case: Case, batch: int, num_frames: int) -> Tensor:
    """CLIP last_hidden_state rows ((B F), 50, 768). Set A stores one sample's frames, fed to every sample."""
    hidden = first_present(case.inputs, "clip_last_hidden_state", "clip_last_hidden_state_real")
    if hidden.shape[0] == num_frames and batch > 1:
        hidden = hidden.repeat(batch, 1, 1)
    return hidden


def _video(case: Case) -> Tensor:
    return first_present(case.inputs, "video_pixels", "video")


def run_clip_conditioner(case: Case) -> dict[str, Tensor]:
    spec, cond_dim = conditioner_spec(case, ClipConditionerConfig)
    conditioner = ClipVideoConditioner(
        spec.config, output_dim=cond_dim, vision_config=None, **_temporal_sizes(case)
    )
    load_case_weights(conditioner, case, f"conditioner.conditioners.{spec.id}.")
    video = _video(case)
    hidden = _clip_hidden(case, video.shape[0], conditioner.num_frames)
    tokens, mask = conditioner.condition_from_clip(hidden, video)
    return {"embeddings": tokens, "tokens": tokens, "mask": mask}


def _sync_features(case: Case, video: Tensor) -> Tensor:
    """(B, 240, 768). Set A stores the non-empty samples' features; empty samples get zeros (as the demo)."""
    if "sync_features" in case.inputs:
        return case.inputs["sync_features"]
    real = case.inputs["sync_features_real"]
    is_zero = all_zero_items(video)
    sync = torch.zeros(video.shape[0], *real.shape[1:])
    sync[~is_zero] = real if real.shape[0] == int((~is_zero).sum()) else real[:1]
    return sync


def run_clip_sync_conditioner(case: Case) -> dict[str, Tensor]:
    spec, cond_dim = conditioner_spec(case, ClipSyncConditionerConfig)
    conditioner = ClipSyncVideoConditioner(
        spec.config, output_dim=cond_dim, vision_config=None, **_temporal_sizes(case)
    )
    load_case_weights(conditioner, case, f"conditioner.conditioners.{spec.id}.")
    video = _video(case)
    hidden = _clip_hidden(case, video.shape[0], conditioner.num_frames)
    sync = _sync_features(case, video)
    tokens, mask = conditioner.condition_from_clip(hidden, video, sync)
    out = {"embeddings": tokens, "tokens": tokens, "mask": mask}
    if "tokens_empty_video" in case.outputs:
        out["tokens_empty_video"], _ = conditioner.condition_from_clip(hidden, torch.zeros_like(video), sync)
    return out


CASE_KINDS: dict[str, CaseKind] = {
    "t5_conditioner": CaseKind(run_t5_conditioner),
    "t5_conditioner_proj": CaseKind(run_t5_conditioner),
    "video_conditioner_audiox_clip": CaseKind(run_clip_conditioner),
    "video_clip_conditioner": CaseKind(run_clip_conditioner),
    "video_conditioner_turbo_clip_sync": CaseKind(run_clip_sync_conditioner),
    "video_sync_conditioner": CaseKind(run_clip_sync_conditioner),
}


# ------------------------------------------------------------------------------------------- audio

TURBO_MASK_RATIOS = (0.25, 0.75)  # released Turbo config values, used by set B's `tokens_masked` call


def _audio_batch(case: Case) -> Tensor | list[Tensor]:
    """Set A: one (B, C, S) tensor; set B: items `audio_item_<b>` of shape (1, C, S_b) (a python list)."""
    if "audio" in case.inputs:
        return case.inputs["audio"]
    items = sorted(
        (k for k in case.inputs if k.startswith("audio_item_")), key=lambda k: int(k.rsplit("_", 1)[1])
    )
    return [case.inputs[k] for k in items]


def _build_audio_conditioner(case: Case) -> tuple[nn.Module, str]:
    spec, cond_dim = conditioner_spec(case, AudioConditionerConfig)
    prefix = f"conditioner.conditioners.{spec.id}."
    if audio_conditioner_variant(spec) == "v1":
        frames = case.state_dict[prefix + "empty_audio_feat"].shape[1]
        conditioner = AudioLatentConditionerV1(spec.config, output_dim=cond_dim, num_empty_frames=frames)
    else:
        conditioner = AudioLatentConditionerV2(spec.config, output_dim=cond_dim)
    load_case_weights(conditioner, case, prefix)
    return conditioner.eval(), prefix


def run_audio_conditioner(case: Case) -> dict[str, Tensor]:
    conditioner, _ = _build_audio_conditioner(case)
    audio, noise = _audio_batch(case), case.inputs["bottleneck_noise"]
    tokens, mask = conditioner(audio, noise=noise)
    out = {"embeddings": tokens, "tokens": tokens, "mask": mask}
    prepared = batch_audio(audio, channels=conditioner.pretransform.io_channels)
    out["debug_vae_latents"] = conditioner.pretransform.encode(prepared, noise=noise)
    if "tokens_silent" in case.outputs:
        silent = [torch.zeros_like(a) for a in audio] if isinstance(audio, list) else torch.zeros_like(audio)
        out["tokens_silent"], _ = conditioner(silent, noise=case.inputs["silent.bottleneck_noise"])
    if "tokens_masked" in case.outputs:
        out["tokens_masked"] = _masked_tokens_set_b(case, conditioner, audio)
    return out


def _masked_tokens_set_b(case: Case, conditioner: nn.Module, audio: Tensor | list[Tensor]) -> Tensor:
    """Set B: the same call after setting the released mask ratios, with the recorded draws."""
    text = case.meta.get("calls", {}).get("tokens_masked", "")
    start, end = (
        float(v) for v in _prose_numbers(text, ("mask_ratio_start", "mask_ratio_end"), TURBO_MASK_RATIOS)
    )
    conditioner.mask_ratio_start, conditioner.mask_ratio_end = start, end
    draws = SpanMaskDraws(
        ratios_u=case.inputs["masked.rand_mask_ratios_u"], starts=case.inputs["masked.randint_start_pos"]
    )
    tokens, _ = conditioner(audio, noise=case.inputs["masked.bottleneck_noise"], mask_draws=draws)
    return tokens


def _prose_numbers(text: str, names: tuple[str, ...], defaults: tuple[float, ...]) -> list[float]:
    found = dict(re.findall(r"(\w+)\s*=\s*([0-9.]+)", text))
    return [float(found.get(n, d)) for n, d in zip(names, defaults, strict=True)]


def run_audio_conditioner_masked(case: Case) -> dict[str, Tensor]:
    """Set A masked case: the official call drew the span masks from the global CPU RNG right after
    `torch.manual_seed(<seed>)` (seed stated in case.json `calls`); a generator seeded alike replays them."""
    conditioner, _ = _build_audio_conditioner(case)
    match = re.search(r"manual_seed\((\d+)\)", json.dumps(case.meta.get("calls", {})))
    if match is None:
        raise InputError("masked audio case: no torch.manual_seed(<seed>) in case.json calls")
    audio = batch_audio(_audio_batch(case), channels=conditioner.pretransform.io_channels)
    generator = torch.Generator().manual_seed(int(match.group(1)))
    draws = draw_span_mask(
        audio.shape[0], audio.shape[-1], conditioner.mask_ratio_start, conditioner.mask_ratio_end, generator
    )
    masked = conditioner.mask_audio(audio, mask_draws=draws)
    noise = case.inputs["bottleneck_noise"]
    tokens, mask = conditioner.tokens_from_audio(masked, noise=noise)
    lengths = span_lengths(
        draws.ratios_u, audio.shape[-1], conditioner.mask_ratio_start, conditioner.mask_ratio_end
    )
    return {
        "embeddings": tokens,
        "mask": mask,
        "debug_masked_audio": masked,
        "debug_mask_span_start_len": torch.stack([draws.starts, lengths], dim=1),
        "debug_vae_latents": conditioner.pretransform.encode(masked, noise=noise),
    }


CASE_KINDS.update(
    {
        "audio_conditioner_audiox": CaseKind(run_audio_conditioner),
        "audio_conditioner_orig": CaseKind(run_audio_conditioner),
        "audio_conditioner_turbo": CaseKind(run_audio_conditioner),
        "audio_conditioner_turbo_masked": CaseKind(run_audio_conditioner_masked),
    }
)
