"""Shared pieces of the DeSync tests: a tiny Synchformer size (real architecture, small widths, the
published 14-segment window) and the published key -> shape table written out from the reference code."""

from __future__ import annotations

from audiox.evaluation.avsync import SyncClassifierSize

TINY = SyncClassifierSize(
    dim=32,
    image_size=32,
    video_depth=1,
    video_heads=2,
    audio_depth=1,
    audio_heads=2,
    sync_depth=1,
    sync_heads=2,
)


def published_non_visual_keys(*, dim: int = 768, audio_depth: int = 12, sync_depth: int = 3) -> dict:
    """Keys and shapes of `synchformer_state_dict.pth` outside `vfeat_extractor.*`, as the reference code
    (Synchformer's AST wrapper over HF ASTModel 4.27, `GlobalTransformer`, `aproj`/`vproj`) builds them."""

    def lin(name: str, fan_out: int, fan_in: int) -> dict:
        return {f"{name}.weight": (fan_out, fan_in), f"{name}.bias": (fan_out,)}

    def norm(name: str) -> dict:
        return {f"{name}.weight": (dim,), f"{name}.bias": (dim,)}

    a = "afeat_extractor.ast."
    keys = {
        f"{a}embeddings.cls_token": (1, 1, dim),
        f"{a}embeddings.distillation_token": (1, 1, dim),
        f"{a}embeddings.position_embeddings": (1, 12 * 6 + 2, dim),
        f"{a}embeddings.patch_embeddings.projection.weight": (dim, 1, 16, 16),
        f"{a}embeddings.patch_embeddings.projection.bias": (dim,),
    }
    for i in range(audio_depth):
        layer = f"{a}encoder.layer.{i}."
        for p in ("query", "key", "value"):
            keys |= lin(f"{layer}attention.attention.{p}", dim, dim)
        keys |= lin(f"{layer}attention.output.dense", dim, dim) | lin(
            f"{layer}intermediate.dense", 4 * dim, dim
        )
        keys |= lin(f"{layer}output.dense", dim, 4 * dim) | norm(f"{layer}layernorm_before")
        keys |= norm(f"{layer}layernorm_after")
    keys |= norm(f"{a}layernorm")
    f = "afeat_extractor.freq_attn_agg."
    keys |= {
        f"{f}cls_token": (1, 1, dim),
        f"{f}self_attn.in_proj_weight": (3 * dim, dim),
        f"{f}self_attn.in_proj_bias": (3 * dim,),
    }
    keys |= lin(f"{f}self_attn.out_proj", dim, dim) | lin(f"{f}linear1", 4 * dim, dim)
    keys |= lin(f"{f}linear2", dim, 4 * dim) | norm(f"{f}norm1") | norm(f"{f}norm2")
    keys |= lin("vproj", dim, dim) | lin("aproj", dim, dim)
    t = "transformer."
    keys |= {f"{t}OFF_tok": (1, 1, dim), f"{t}MOD_tok": (1, 1, dim), f"{t}pos_emb_cfg.pos_emb": (1, 198, dim)}
    keys |= (
        norm(f"{t}vis_in_lnorm") | norm(f"{t}aud_in_lnorm") | norm(f"{t}ln_f") | lin(f"{t}off_head", 21, dim)
    )
    for i in range(sync_depth):
        block = f"{t}blocks.{i}."
        keys |= norm(f"{block}ln1") | norm(f"{block}ln2")
        for p in ("key", "query", "value", "proj"):
            keys |= lin(f"{block}attn.{p}", dim, dim)
        keys |= lin(f"{block}mlp.0", 4 * dim, dim) | lin(f"{block}mlp.2", dim, 4 * dim)
    return keys
