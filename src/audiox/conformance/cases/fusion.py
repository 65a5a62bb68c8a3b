"""Golden-vector case runners for the fusion stage: the MAF block alone (`maf_block`)."""

from __future__ import annotations

import torch

from audiox.config.parse import parse_section
from audiox.config.schema import MafConfig
from audiox.conformance.case import Case, load_case_weights
from audiox.conformance.kinds import CaseKind
from audiox.fusion.maf import MafBlock


def _maf_sizes(case: Case) -> tuple[int, MafConfig]:
    """(dim, MafConfig): set A carries a `MAF_Block` dict with `dim`; set B the official schema, where the
    harness builds MAF with dim = `model.conditioning.cond_dim` (the official code hard-codes 768 = cond_dim)."""
    if "MAF_Block" in case.config:
        sizes = case.config["MAF_Block"]
        return int(sizes["dim"]), parse_section(MafConfig, sizes, path="MAF_Block", strict=False)
    model = case.config["model"]
    maf = parse_section(
        MafConfig,
        model["diffusion"]["gate_type_config"],
        path="model.diffusion.gate_type_config",
        strict=False,
    )
    return int(model["conditioning"]["cond_dim"]), maf


def run_maf_block(case: Case) -> dict[str, torch.Tensor]:
    dim, cfg = _maf_sizes(case)
    maf = MafBlock(
        dim,
        num_experts_per_modality=cfg.num_experts_per_modality,
        num_heads=cfg.num_heads,
        num_fusion_layers=cfg.num_fusion_layers,
        mlp_ratio=cfg.mlp_ratio,
    )
    load_case_weights(maf, case, "maf_block.")
    maf.eval()
    video, text, audio = (case.inputs[f"{k}_tokens"] for k in ("video", "text", "audio"))
    out = maf(video, text, audio, return_gates=True)
    gates = out.gates
    updated = maf.read_experts(maf.gated_context((video, text, audio), gates))
    return {
        "video": out.video,
        "text": out.text,
        "audio": out.audio,
        "debug_gates": gates,
        "debug_updated_experts": updated,
        "debug_fused_experts": maf.fusion_transformer(updated),
    }


CASE_KINDS: dict[str, CaseKind] = {"maf_block": CaseKind(run_maf_block)}
