"""Tiny stand-ins with the official key layout (no real AudioX modules needed)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrizations


class TinyAutoencoder(nn.Module):
    """Like AudioAutoencoder: weight-normed convs under `encoder.layers` / `decoder.layers`."""

    def __init__(self, *, parametrized: bool = False) -> None:
        super().__init__()
        norm = parametrizations.weight_norm if parametrized else _legacy_weight_norm
        self.encoder = nn.Module()
        self.encoder.layers = nn.Sequential(norm(nn.Conv1d(2, 4, 3)))
        self.decoder = nn.Module()
        self.decoder.layers = nn.Sequential(norm(nn.Conv1d(4, 2, 3, bias=False)))


def _legacy_weight_norm(conv: nn.Conv1d) -> nn.Conv1d:
    conv.weight_g = nn.Parameter(torch.empty(conv.out_channels, 1, 1).normal_())
    conv.weight_v = nn.Parameter(torch.empty_like(conv.weight).normal_())
    del conv.weight
    return conv


class TinyPretransform(nn.Module):
    """Like AutoencoderPretransform: the autoencoder sits at `.model`."""

    def __init__(self, *, parametrized: bool = False) -> None:
        super().__init__()
        self.model = TinyAutoencoder(parametrized=parametrized)


class TinyAudioConditioner(nn.Module):
    def __init__(self, variant: str) -> None:
        super().__init__()
        self.pretransform = TinyPretransform()
        self.proj_out = nn.Linear(4, 6)
        if variant == "v1":
            self.empty_audio_feat = nn.Parameter(torch.empty(1, 5, 6).normal_())
        else:
            self.proj_features_128 = nn.Linear(5, 3)


class TinyBackbone(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        layer = nn.Module()
        if kind == "dit":
            layer.self_attn = nn.Module()
            layer.self_attn.to_qkv = nn.Linear(8, 24, bias=False)
        else:
            layer.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(8, 48))
        self.transformer = nn.Module()
        self.transformer.layers = nn.ModuleList([layer])
        self.preprocess_conv = nn.Conv1d(4, 4, 1, bias=False)


class TinyModel(nn.Module):
    """Our DiffusionModel's attribute names: backbone, conditioner.conditioners, pretransform, maf_block."""

    def __init__(self, *, backbone: str = "dit", audio: str = "v1") -> None:
        super().__init__()
        self.backbone = TinyBackbone(backbone)
        self.conditioner = nn.Module()
        self.conditioner.conditioners = nn.ModuleDict({"audio_prompt": TinyAudioConditioner(audio)})
        self.pretransform = TinyPretransform()
        self.maf_block = nn.Linear(6, 6)


def official_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights under official key names (fresh random values)."""
    from audiox.checkpoints.keys import to_official

    return {k: torch.randn_like(v) for k, v in to_official(model.state_dict()).items()}
