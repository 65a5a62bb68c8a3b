"""MMDiT backbone of AudioX-Turbo / AudioX-MAF-MMDiT (`diffusion.type: mmdit`).

Raw forward only (no CFG; see `audiox.diffusion.guidance`). Attribute names are the official state-dict
names after the `model.model.` prefix. Shape letters: B batch, C latent channels, L latent frames,
S = 1 + L sequence, N context tokens, D width.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from audiox.backbone.mmdit_block import MMDitSingleBlock
from audiox.backbone.rotary import adjacent_rope_table
from audiox.backbone.stem import BackboneStem, StepInvariantCache
from audiox.config.schema import BackboneConfig
from audiox.errors import ConfigError, InputError

OFFICIAL_MM_TOKEN_DIM = 768  # hard-coded width of the fused context in the official code
OFFICIAL_NUM_MM_TOKENS = 384  # hard-coded context length: 128 text + 128 video + 128 audio


class PooledCondition(nn.Module):
    """audiox's own option (`pooled_condition`): the mean of each third of the fused context (the MAF
    output is [text | video | audio] slots), concatenated, through Linear -> SiLU -> Linear, one vector per
    item added to every position's adaLN input. The official path reaches a position only through a
    Linear over the token axis, whose random init scrambles the caption per position; this path hands
    every position the whole request from the first step. The last Linear starts at zero, so adding the
    path to a trained model leaves its output unchanged until it trains."""

    def __init__(self, *, mm_token_dim: int, dim: int, groups: int = 3) -> None:
        super().__init__()
        self.groups = groups
        self.net = nn.Sequential(nn.Linear(groups * mm_token_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        nn.init.zeros_(self.net[2].weight)
        nn.init.zeros_(self.net[2].bias)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        """context: (B, N, mm_token_dim), N divisible by `groups` -> (B, 1, D)."""
        b, n, w = context.shape
        parts = context.reshape(b, self.groups, n // self.groups, w)  # (B, G, T, W)
        # padding slots (text beyond the caption) leave the MAF as ~0 (norm ~1e-4 of a real token's): a mean
        # over the slots above 1e-3 of their part's largest norm is the mean over the real tokens
        norms = parts.norm(dim=-1)  # (B, G, T)
        keep = (norms > 1e-3 * norms.amax(dim=-1, keepdim=True)).to(parts.dtype)
        pooled = (parts * keep[..., None]).sum(dim=2) / keep.sum(dim=2, keepdim=True).clamp(min=1.0)
        return self.net(pooled.reshape(b, 1, self.groups * w))


class ContinuousMMDiTTransformer(nn.Module):
    """Context tokens resampled to the sequence length drive per-position adaLN; the time token is both
    prepended and the single cross-attention context of every block."""

    def __init__(
        self,
        *,
        dim: int,
        depth: int,
        num_heads: int,
        dim_in: int,
        dim_out: int,
        seq_len: int,
        mlp_ratio: float,
        kernel_size: int,
        mm_token_dim: int,
        num_mm_tokens: int,
        pooled_condition: bool = False,
    ) -> None:
        super().__init__()
        self.seq_len = seq_len
        self.project_in = nn.Linear(dim_in, dim, bias=False)
        self.project_out = nn.Linear(dim, dim_out, bias=False)
        self.layers = nn.ModuleList(
            MMDitSingleBlock(dim=dim, num_heads=num_heads, mlp_ratio=mlp_ratio, kernel_size=kernel_size)
            for _ in range(depth)
        )
        # official quirk: Identity only when both widths are the hard-coded 768 (`dim != 768` test).
        same_width = dim == mm_token_dim == OFFICIAL_MM_TOKEN_DIM
        self.proj_mm_tokens = nn.Identity() if same_width else nn.Linear(mm_token_dim, dim)
        # official quirk: a Linear over the TOKEN axis, N context tokens -> S positions.
        self.proj_mm_seq_len = (
            nn.Identity() if seq_len == num_mm_tokens else nn.Linear(num_mm_tokens, seq_len)
        )
        self.head_dim = dim // num_heads
        if pooled_condition and num_mm_tokens % 3:
            raise ConfigError(f"pooled_condition needs the context in 3 equal parts, got {num_mm_tokens} tokens")
        self.pooled = PooledCondition(mm_token_dim=mm_token_dim, dim=dim) if pooled_condition else None

    def project_mm_tokens(self, context: torch.Tensor) -> torch.Tensor:
        """context: (B, N, mm_token_dim) -> per-position conditioning (B, S, D)."""
        m = self.proj_mm_tokens(context)  # (B, N, D)
        cond = self.proj_mm_seq_len(m.transpose(1, 2)).transpose(1, 2)  # (B, S, D)
        return cond if self.pooled is None else cond + self.pooled(context)

    def modulations(self, context: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], ...]:
        """context: (B, N, mm_token_dim) -> per block the six adaLN tensors, each (B, S, D). They depend on
        the context only (pooled condition included), so a generation computes them once."""
        cond = self.project_mm_tokens(context)  # (B, S, D)
        return tuple(layer.modulation(cond) for layer in self.layers)

    def forward(
        self,
        x: torch.Tensor,
        *,
        time_token: torch.Tensor,
        context: torch.Tensor,
        modulations: tuple[tuple[torch.Tensor, ...], ...] | None = None,
    ) -> torch.Tensor:
        """x: (B, L, C_in), time_token: (B, 1, D), context: (B, N, mm_token_dim) -> (B, 1+L, C_out).
        `modulations`: `self.modulations(context)` computed earlier (then `context` is not read)."""
        return self.block_outputs(
            x, time_token=time_token, context=context, depths=(len(self.layers),), modulations=modulations
        )[0]

    def block_outputs(
        self,
        x: torch.Tensor,
        *,
        time_token: torch.Tensor,
        context: torch.Tensor,
        depths: Sequence[int],
        modulations: tuple[tuple[torch.Tensor, ...], ...] | None = None,
    ) -> list[torch.Tensor]:
        """`project_out` of the hidden states after the first d blocks, for each d in `depths` (ascending,
        1..depth), from one pass: [(B, 1+L, C_out)] (DMD discriminator features; `forward` is the full depth).
        `modulations` as in `forward`."""
        h = torch.cat((time_token, self.project_in(x)), dim=1)  # (B, S, D)
        cond = self.project_mm_tokens(context) if modulations is None else None  # (B, S, D)
        # The RoPE table is recomputed per call (never a buffer), so a model built on `meta` and then
        # materialised by loading a checkpoint has no uninitialised state.
        cos, sin = adjacent_rope_table(self.seq_len, self.head_dim, device=h.device)  # (S, E/2)
        outs = []
        for depth, layer in enumerate(self.layers[: max(depths)], start=1):
            modulation = None if modulations is None else modulations[depth - 1]
            h = layer(h, cond, cos, sin, time_token, modulation=modulation)
            if depth in depths:
                outs.append(self.project_out(h))
        return outs


class MMDiffusionTransformer(BackboneStem):
    """AudioX-Turbo MMDiT (`model.model.*`).

    # official quirk: `num_heads` in the config is the head DIM; there are embed_dim // num_heads heads
    # (official 1536 / 24 = 64 heads of 24 dims).
    # official quirk: `to_cond_embed` and `to_global_embed` are built (in the checkpoint) but unused.
    `mm_token_dim` / `num_mm_tokens` are hard-coded (768 / 384) in the official code; pass others only for
    harness-shrunk models. The latent length is fixed: L must equal `latent_seq_len - 1`.
    """

    def __init__(
        self,
        cfg: BackboneConfig,
        *,
        mm_token_dim: int = OFFICIAL_MM_TOKEN_DIM,
        num_mm_tokens: int = OFFICIAL_NUM_MM_TOKENS,
    ) -> None:
        super().__init__(cfg)
        num_heads = cfg.embed_dim // cfg.num_heads
        if cfg.num_heads % 2:
            raise ConfigError(
                f"model.diffusion.config.num_heads={cfg.num_heads} is the MMDiT head dim; it must be even"
            )
        self.mm_token_dim, self.num_mm_tokens = mm_token_dim, num_mm_tokens
        self.transformer = ContinuousMMDiTTransformer(
            dim=cfg.embed_dim,
            depth=cfg.depth,
            num_heads=num_heads,
            dim_in=cfg.io_channels,
            dim_out=cfg.io_channels,
            seq_len=cfg.latent_seq_len,
            mlp_ratio=cfg.mlp_ratio,
            kernel_size=cfg.kernel_size,
            mm_token_dim=mm_token_dim,
            num_mm_tokens=num_mm_tokens,
            pooled_condition=cfg.pooled_condition,
        )

    @property
    def num_latent_frames(self) -> int:
        """The only latent length L this model accepts (`latent_seq_len - 1`)."""
        return self.transformer.seq_len - 1

    def prepare(self, cross_attn_cond: torch.Tensor) -> StepInvariantCache:
        """The step-invariant work for `cross_attn_cond` (B, num_mm_tokens, mm_token_dim): every block's
        adaLN modulation (depth x 6 tensors (B, S, D)). Pass the result to each step's forward."""
        self._check_context(cross_attn_cond)
        return StepInvariantCache(cross_attn_cond, self.transformer.modulations(cross_attn_cond))

    def block_outputs(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        cross_attn_cond: torch.Tensor,
        depths: Sequence[int],
        *,
        cache: StepInvariantCache | None = None,
    ) -> list[torch.Tensor]:
        """The output head applied after the first d blocks, for each d in `depths`: [(B, C, L)] (the last
        entry of the full depth is `forward`'s output). x: (B, C, L) with L = latent_seq_len - 1, t: (B,),
        cross_attn_cond: (B, num_mm_tokens, mm_token_dim); `cache`: `self.prepare(cross_attn_cond)`."""
        self.check_inputs(x, t, cross_attn_cond, self.mm_token_dim)
        if x.shape[2] != self.num_latent_frames:
            raise InputError(
                f"{tuple(x.shape)=}: the MMDiT was built for exactly {self.num_latent_frames} latent frames "
                f"(_latent_seq_len {self.transformer.seq_len}); change the duration or the config"
            )
        self._check_context(cross_attn_cond)
        if cache is not None:
            cache.check(cross_attn_cond)
        time_token = self.embed_timestep(t)[:, None]  # (B, 1, D)
        modulations = None if cache is None else cache.per_layer
        outs = self.transformer.block_outputs(
            self.pre(x), time_token=time_token, context=cross_attn_cond, depths=depths, modulations=modulations
        )  # [(B, S, C)]
        return [self.post(out) for out in outs]  # (B, C, L) each

    def _check_context(self, cross_attn_cond: torch.Tensor) -> None:
        if cross_attn_cond.ndim != 3 or cross_attn_cond.shape[1:] != (self.num_mm_tokens, self.mm_token_dim):
            raise InputError(
                f"{tuple(cross_attn_cond.shape)=}: the MMDiT needs (B, {self.num_mm_tokens}, "
                f"{self.mm_token_dim}) context tokens"
            )


@torch.no_grad()
def init_coherent_seq_projection(transformer: ContinuousMMDiTTransformer, *, text_weight: float = 1 / 32) -> None:
    """Re-initialise `proj_mm_seq_len` (N context slots -> S positions) so every position starts with a
    readable view of the request (audiox's own models, before training; official checkpoints never pass
    here): the text third summed at `text_weight` into every latent position; the video and audio thirds
    mapped by time, latent position p (1..L) reading the slot at the same relative time. Bias zero; the
    time-token position reads nothing. Raises ConfigError when the projection is an Identity."""
    proj = transformer.proj_mm_seq_len
    if not isinstance(proj, nn.Linear) or proj.in_features % 3:
        raise ConfigError("coherent init needs proj_mm_seq_len to be a Linear over 3 equal context parts")
    slots, positions = proj.in_features // 3, proj.out_features
    weight = torch.zeros(positions, 3 * slots)
    weight[1:, :slots] = text_weight
    frames = positions - 1
    for p in range(frames):
        j = min(slots - 1, (p * slots) // frames)
        weight[1 + p, slots + j] = 1.0  # video slot at the same time
        weight[1 + p, 2 * slots + j] = 1.0  # audio-prompt slot at the same time
    proj.weight.copy_(weight)
    proj.bias.zero_()


@torch.no_grad()
def init_plan_projection(transformer: ContinuousMMDiTTransformer, *, first_slot: int, slots: int) -> None:
    """Point `proj_mm_seq_len`'s columns of the caption planner's timeline (text slots first_slot ..
    first_slot + slots - 1, `conditioning.caption_planner`) at the latent positions of the same time: latent
    position p (1..L) reads timeline slot floor(p' * slots / L) (p' = p - 1) with weight 1, nothing else
    reads those slots, and the time-token position reads none of them. Other columns are left as they are,
    so a trained model keeps its own reading of the caption. Raises ConfigError when the projection is an
    Identity or the slots fall outside the text third."""
    proj = transformer.proj_mm_seq_len
    if not isinstance(proj, nn.Linear) or proj.in_features % 3:
        raise ConfigError("the plan projection needs proj_mm_seq_len to be a Linear over 3 equal context parts")
    if first_slot < 0 or first_slot + slots > proj.in_features // 3:
        raise ConfigError(f"timeline slots {first_slot}..{first_slot + slots - 1} are not inside the text third "
                          f"(0..{proj.in_features // 3 - 1})")
    frames = proj.out_features - 1
    proj.weight[:, first_slot : first_slot + slots] = 0.0
    for p in range(frames):
        proj.weight[1 + p, first_slot + min(slots - 1, (p * slots) // frames)] = 1.0
