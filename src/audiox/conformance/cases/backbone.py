"""Golden-vector case runners for the backbone stage: `dit_forward` and `mmdit_forward`.

Outputs named `out_cfg<scale>[_phi<digits>][_neg][_nomask]` are parsed generically: `out_cfg7_phi075` is
cfg 7 with scale_phi 0.75, `_neg` adds the negative context and its mask.
"""

from __future__ import annotations

import re
from functools import partial

import torch
from torch import nn

from audiox.backbone.dit import DiffusionTransformer
from audiox.backbone.mmdit import MMDiffusionTransformer
from audiox.config.parse import parse_section
from audiox.config.schema import BackboneConfig
from audiox.conformance.case import Case, load_case_weights
from audiox.conformance.kinds import CaseKind
from audiox.diffusion.guidance import apply_cfg

PREFIX = "model.model."
CFG_OUTPUT = re.compile(r"out_cfg(\d+)(?:_phi(\d+))?(_neg)?(?:_nomask)?")


def parse_cfg_output(name: str) -> tuple[float, float, bool] | None:
    """'out_cfg7_phi075_neg' -> (7.0, 0.75, True); phi digits after a leading 0 are decimals
    ('075' = 0.75, '05' = 0.5). None for names that are not CFG outputs."""
    match = CFG_OUTPUT.fullmatch(name)
    if match is None:
        return None
    scale, phi_digits, neg = match.groups()
    phi = int(phi_digits) / 10 ** (len(phi_digits) - 1) if phi_digits else 0.0
    return float(scale), phi, neg is not None


def backbone_config(case: Case) -> BackboneConfig:
    return parse_section(
        BackboneConfig,
        case.config["model"]["diffusion"]["config"],
        path="model.diffusion.config",
        strict=False,
    )


def load_backbone(module: nn.Module, case: Case) -> nn.Module:
    """Strictly load the case's `model.model.*` tensors into `module`; eval mode."""
    return load_case_weights(module, case, PREFIX)


def guided_outputs(case: Case, model: nn.Module) -> dict[str, torch.Tensor]:
    """Every `out_cfg*` reference output, computed with `apply_cfg` over the raw backbone."""
    x, t, context = case.inputs["x"], case.inputs["t"], case.inputs["cross_attn_cond"]
    out = {}
    for name in case.outputs:
        parsed = parse_cfg_output(name)
        if parsed is None:
            continue
        scale, phi, use_negative = parsed
        negative = {}
        if use_negative:
            negative = {
                "negative_context": case.inputs["neg_cross_attn_cond"],
                "negative_mask": case.inputs.get("neg_cross_attn_mask"),
            }
        out[name] = apply_cfg(model, x, t, context, scale, scale_phi=phi, **negative)
    return out


def debug_outputs(
    model: nn.Module, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Intermediates some cases store for bisecting (compared only when produced)."""
    out = {
        "debug_batch_cond_uncond": model(
            torch.cat([x, x]), torch.cat([t, t]), torch.cat([context, torch.zeros_like(context)])
        ),
        "debug_uncond_zero_context": model(x, t, torch.zeros_like(context)),
        "debug_timestep_embed": model.embed_timestep(t),
    }
    if isinstance(model, MMDiffusionTransformer):
        out["debug_mm_tokens_projected"] = model.transformer.project_mm_tokens(context)
    return out


def run_dit_forward(case: Case) -> dict[str, torch.Tensor]:
    model = load_backbone(DiffusionTransformer(backbone_config(case)), case)
    out = guided_outputs(case, model)
    return {**debug_outputs(model, case.inputs["x"], case.inputs["t"], case.inputs["cross_attn_cond"]), **out}


def run_mmdit_forward(case: Case) -> dict[str, torch.Tensor]:
    context = case.inputs["cross_attn_cond"]
    # The context geometry (official 384 x 768) is hard-coded upstream; read it from the case's tensor.
    build = partial(MMDiffusionTransformer, mm_token_dim=context.shape[2], num_mm_tokens=context.shape[1])
    model = load_backbone(build(backbone_config(case)), case)
    out = guided_outputs(case, model)
    return {**debug_outputs(model, case.inputs["x"], case.inputs["t"], context), **out}


CASE_KINDS: dict[str, CaseKind] = {
    "dit_forward": CaseKind(run=run_dit_forward),
    "mmdit_forward": CaseKind(run=run_mmdit_forward),
}
