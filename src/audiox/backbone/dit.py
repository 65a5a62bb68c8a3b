"""DiT backbone of the original AudioX (`diffusion.type: dit`, `continuous_transformer`).

Raw forward only (no CFG; see `audiox.diffusion.guidance`). Attribute names are the official state-dict
names after the `model.model.` prefix. Shape letters: B batch, C latent channels, L latent frames,
N context tokens, D width, H heads, E head dim.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from einops import rearrange
from torch import nn

from audiox.backbone.layers import FeedForward, LayerNorm, attend
from audiox.backbone.rotary import RotaryEmbedding, apply_rotate_half
from audiox.backbone.stem import BackboneStem, StepInvariantCache
from audiox.config.schema import BackboneConfig
from audiox.errors import InputError


class Attention(nn.Module):
    """DiT attention: self (`to_qkv`) or cross (`to_q` + `to_kv` over the context); all bias-free.

    Cross-attention has `dim_context // dim_heads` key/value heads, each shared by a group of
    consecutive query heads. No masks, softmax scale 1/sqrt(E).
    """

    def __init__(self, *, dim: int, dim_heads: int, dim_context: int | None = None) -> None:
        super().__init__()
        self.num_heads = dim // dim_heads
        if dim_context is None:
            self.kv_heads = self.num_heads
            self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
        else:
            self.kv_heads = dim_context // dim_heads
            self.to_q = nn.Linear(dim, dim, bias=False)
            self.to_kv = nn.Linear(dim_context, dim_context * 2, bias=False)
        self.to_out = nn.Linear(dim, dim, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        *,
        context: torch.Tensor | None = None,
        freqs: torch.Tensor | None = None,
        context_kv: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """x: (B, T, D), context: (B, N, D_ctx) or None (self-attention), freqs: (T, R) rotary angles
        (self-attention only), context_kv: `self.context_kv(context)` computed earlier (then `context` is
        not read) -> (B, T, D)."""
        if context is None and context_kv is None:
            q, k, v = (
                rearrange(a, "b t (h e) -> b h t e", h=self.num_heads) for a in self.to_qkv(x).chunk(3, -1)
            )
            if freqs is not None:
                q, k = apply_rotate_half(q, freqs), apply_rotate_half(k, freqs)
        else:
            q = rearrange(self.to_q(x), "b t (h e) -> b h t e", h=self.num_heads)
            k, v = self.context_kv(context) if context_kv is None else context_kv
        return self.to_out(attend(q, k, v))

    def context_kv(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-attention keys and values of the context, expanded to the query heads.
        context: (B, N, D_ctx) -> k, v: (B, H, N, E). They depend on the context only."""
        k, v = (rearrange(a, "b n (h e) -> b h n e", h=self.kv_heads) for a in self.to_kv(context).chunk(2, -1))
        if self.kv_heads != self.num_heads:
            # official quirk: grouped kv heads shared by repeat_interleave (query head i uses kv head
            # i // (num_heads // kv_heads)).
            group = self.num_heads // self.kv_heads
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        return k, v


class TransformerBlock(nn.Module):
    """Pre-norm block: self-attention (rotary), cross-attention (no rotary), SwiGLU feed-forward."""

    def __init__(self, *, dim: int, dim_heads: int, dim_context: int) -> None:
        super().__init__()
        self.pre_norm = LayerNorm(dim)
        self.self_attn = Attention(dim=dim, dim_heads=dim_heads)
        self.cross_attend_norm = LayerNorm(dim)
        self.cross_attn = Attention(dim=dim, dim_heads=dim_heads, dim_context=dim_context)
        self.ff_norm = LayerNorm(dim)
        self.ff = FeedForward(dim=dim)

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None,
        freqs: torch.Tensor,
        *,
        context_kv: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """x: (B, T, D), context: (B, N, D_ctx), freqs: (T, R), context_kv: the cross-attention's
        `context_kv(context)` computed earlier (then `context` is not read) -> (B, T, D)."""
        x = x + self.self_attn(self.pre_norm(x), freqs=freqs)
        x = x + self.cross_attn(self.cross_attend_norm(x), context=context, context_kv=context_kv)
        return x + self.ff(self.ff_norm(x))


class ContinuousTransformer(nn.Module):
    """`project_in` -> prepend the time token -> blocks -> `project_out` (both projections bias-free)."""

    def __init__(
        self, *, dim: int, depth: int, dim_heads: int, dim_in: int, dim_out: int, dim_context: int
    ) -> None:
        super().__init__()
        self.project_in = nn.Linear(dim_in, dim, bias=False)
        self.project_out = nn.Linear(dim, dim_out, bias=False)
        # official quirk: rotary over max(E // 2, 32) head dims only.
        self.rotary_pos_emb = RotaryEmbedding(max(dim_heads // 2, 32))
        self.layers = nn.ModuleList(
            TransformerBlock(dim=dim, dim_heads=dim_heads, dim_context=dim_context) for _ in range(depth)
        )

    def context_kvs(self, context: torch.Tensor) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        """context: (B, N, D_ctx) -> per block the cross-attention (k, v), each (B, H, N, E)."""
        return tuple(layer.cross_attn.context_kv(context) for layer in self.layers)

    def forward(
        self,
        x: torch.Tensor,
        *,
        time_token: torch.Tensor,
        context: torch.Tensor | None,
        context_kvs: tuple[tuple[torch.Tensor, torch.Tensor], ...] | None = None,
    ) -> torch.Tensor:
        """x: (B, L, C_in), time_token: (B, 1, D), context: (B, N, D_ctx) -> (B, 1+L, C_out).
        `context_kvs`: `self.context_kvs(context)` computed earlier (then `context` is not read).

        # official quirk: no masks reach the layers (padded context tokens are attended); the time token
        # takes rotary position 0.
        """
        return self.block_outputs(
            x, time_token=time_token, context=context, depths=(len(self.layers),), context_kvs=context_kvs
        )[0]

    def block_outputs(
        self,
        x: torch.Tensor,
        *,
        time_token: torch.Tensor,
        context: torch.Tensor | None,
        depths: Sequence[int],
        context_kvs: tuple[tuple[torch.Tensor, torch.Tensor], ...] | None = None,
    ) -> list[torch.Tensor]:
        """`project_out` of the hidden states after the first d blocks, for each d in `depths` (ascending,
        1..depth), from one pass: [(B, 1+L, C_out)] (DMD discriminator features). Other inputs as `forward`."""
        h = torch.cat((time_token, self.project_in(x)), dim=1)  # (B, 1+L, D)
        freqs = self.rotary_pos_emb(h.shape[1])
        outs = []
        for depth, layer in enumerate(self.layers[: max(depths)], start=1):
            context_kv = None if context_kvs is None else context_kvs[depth - 1]
            h = layer(h, context, freqs, context_kv=context_kv)
            if depth in depths:
                outs.append(self.project_out(h))
        return outs


class DiffusionTransformer(BackboneStem):
    """Original AudioX DiT (`model.model.*`): context through `to_cond_embed`, timestep as a prepended
    token, residual 1x1 pre/post convs around a `ContinuousTransformer`."""

    def __init__(self, cfg: BackboneConfig) -> None:
        super().__init__(cfg)
        dim_heads = cfg.embed_dim // cfg.num_heads
        self.transformer = ContinuousTransformer(
            dim=cfg.embed_dim,
            depth=cfg.depth,
            dim_heads=dim_heads,
            dim_in=cfg.io_channels,
            dim_out=cfg.io_channels,
            dim_context=self.cond_embed_dim,
        )
        self.cond_token_dim = cfg.cond_token_dim

    def prepare(self, cross_attn_cond: torch.Tensor) -> StepInvariantCache:
        """The step-invariant work for `cross_attn_cond` (B, N, cond_token_dim): `to_cond_embed` and every
        block's cross-attention keys / values. Pass the result to each step's forward."""
        if cross_attn_cond.ndim != 3 or cross_attn_cond.shape[2] != self.cond_token_dim:
            raise InputError(f"{tuple(cross_attn_cond.shape)=}, expected (B, N, {self.cond_token_dim})")
        context = self.to_cond_embed(cross_attn_cond)  # (B, N, D_ctx)
        return StepInvariantCache(cross_attn_cond, self.transformer.context_kvs(context))

    def block_outputs(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        cross_attn_cond: torch.Tensor,
        depths: Sequence[int],
        *,
        cache: StepInvariantCache | None = None,
    ) -> list[torch.Tensor]:
        """The output head applied after the first d blocks, for each d in `depths`: [(B, C, L)] (the full
        depth is `forward`'s output). x: (B, C, L) latents, t: (B,) time, cross_attn_cond: (B, N, cond_token_dim);
        `cache`: `self.prepare(cross_attn_cond)`."""
        self.check_inputs(x, t, cross_attn_cond, self.cond_token_dim)
        if cache is None:
            context, context_kvs = self.to_cond_embed(cross_attn_cond), None  # (B, N, D_ctx)
        else:
            cache.check(cross_attn_cond)
            context, context_kvs = None, cache.per_layer
        time_token = self.embed_timestep(t)[:, None]  # (B, 1, D)
        outs = self.transformer.block_outputs(
            self.pre(x), time_token=time_token, context=context, depths=depths, context_kvs=context_kvs
        )  # [(B, 1+L, C)]
        return [self.post(out) for out in outs]  # (B, C, L) each
