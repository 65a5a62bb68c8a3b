"""Our implementation of Synchformer's audio branch: an AST (Audio Spectrogram Transformer) over one
0.64 s log-mel segment, then attention pooling over frequency -> 6 temporal tokens per segment.

Path (eval mode, no dropout): spectrogram (N, 128 mels, 66 frames) -> 16x16 patches with stride 10 in both
axes (12 frequency x 6 time patches, frequency-major) -> [CLS, DISTILL, patches] + learned positions ->
12 pre-norm ViT layers -> final LayerNorm -> the two auxiliary tokens dropped -> per time patch, an
attention-pooling encoder layer over its 12 frequency patches (`freq_attn_agg`) -> (N, 6, 768).
The official time aggregation (`temp_attn_agg`) is Identity and the classifier head is absent.

State-dict keys: this class is the official `Synchformer.afeat_extractor`, whose `ast` is a Hugging Face
`ASTModel` (`ast.embeddings.patch_embeddings.projection.weight`,
`ast.encoder.layer.N.attention.attention.query`, `...attention.output.dense`, `...intermediate.dense`,
`...output.dense`, `...layernorm_before`, `ast.layernorm`)
with its position table cut to the 66-frame input (1 x 74 x 768). Attribute names here are those keys,
even where they nest oddly (`attention.attention`), so the published file loads without renaming.
Shape letters: N segments, T tokens, D width, H heads, E head dim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from audiox.conditioning.synchformer_blocks import SpatialAttentionPooling

AST_LAYER_NORM_EPS = 1e-12  # Hugging Face ASTConfig.layer_norm_eps


def num_patches(size: int, *, patch: int, stride: int) -> int:
    """Patches along one spectrogram axis (convolution arithmetic): (size - patch) // stride + 1."""
    return (size - patch) // stride + 1


class Dense(nn.Module):
    """One linear layer under the attribute name `dense` (the Hugging Face nesting)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.dense = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(x)


class AstSelfAttention(nn.Module):
    """Multi-head self-attention with separate `query`, `key`, `value` projections."""

    def __init__(self, *, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, T, D) -> (N, T, D) attention output before the output projection."""
        q, k, v = (
            rearrange(p(x), "n t (h e) -> n h t e", h=self.num_heads)
            for p in (self.query, self.key, self.value)
        )
        return rearrange(F.scaled_dot_product_attention(q, k, v), "n h t e -> n t (h e)")


class AstAttention(nn.Module):
    """`attention.attention` (q/k/v) followed by `attention.output.dense`."""

    def __init__(self, *, dim: int, num_heads: int) -> None:
        super().__init__()
        self.attention = AstSelfAttention(dim=dim, num_heads=num_heads)
        self.output = Dense(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.attention(x))


class AstLayer(nn.Module):
    """Pre-norm ViT layer: x + attn(LN(x)), then x + fc2(gelu(fc1(LN(x))))."""

    def __init__(self, *, dim: int, num_heads: int, hidden_dim: int) -> None:
        super().__init__()
        self.attention = AstAttention(dim=dim, num_heads=num_heads)
        self.intermediate = Dense(dim, hidden_dim)
        self.output = Dense(hidden_dim, dim)
        self.layernorm_before = nn.LayerNorm(dim, eps=AST_LAYER_NORM_EPS)
        self.layernorm_after = nn.LayerNorm(dim, eps=AST_LAYER_NORM_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, T, D) -> (N, T, D)."""
        x = x + self.attention(self.layernorm_before(x))
        return x + self.output(F.gelu(self.intermediate(self.layernorm_after(x))))


class AstPatchEmbeddings(nn.Module):
    def __init__(self, *, dim: int, patch: int, stride: int) -> None:
        super().__init__()
        self.projection = nn.Conv2d(1, dim, kernel_size=patch, stride=stride)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """spec: (N, M, Ts) mels x frames -> (N, f * t, D) patches, frequency-major."""
        return rearrange(self.projection(spec[:, None]), "n d f t -> n (f t) d")


class AstEmbeddings(nn.Module):
    def __init__(self, *, dim: int, num_tokens: int, patch: int, stride: int) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.distillation_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.patch_embeddings = AstPatchEmbeddings(dim=dim, patch=patch, stride=stride)
        self.position_embeddings = nn.Parameter(torch.zeros(1, num_tokens + 2, dim))

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """spec: (N, M, Ts) -> (N, 2 + f * t, D): CLS, DISTILL, then the patches, plus positions."""
        x = self.patch_embeddings(spec)
        aux = torch.cat([self.cls_token, self.distillation_token], dim=1).expand(x.shape[0], -1, -1)
        return torch.cat([aux, x], dim=1) + self.position_embeddings


class AstEncoder(nn.Module):
    def __init__(self, *, dim: int, depth: int, num_heads: int, hidden_dim: int) -> None:
        super().__init__()
        self.layer = nn.ModuleList(
            AstLayer(dim=dim, num_heads=num_heads, hidden_dim=hidden_dim) for _ in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layer:
            x = layer(x)
        return x


class AstModel(nn.Module):
    """The `ast` submodule: embeddings -> encoder -> final `layernorm`."""

    def __init__(
        self, *, dim: int, depth: int, num_heads: int, num_tokens: int, patch: int, stride: int
    ) -> None:
        super().__init__()
        self.embeddings = AstEmbeddings(dim=dim, num_tokens=num_tokens, patch=patch, stride=stride)
        self.encoder = AstEncoder(dim=dim, depth=depth, num_heads=num_heads, hidden_dim=4 * dim)
        self.layernorm = nn.LayerNorm(dim, eps=AST_LAYER_NORM_EPS)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """spec: (N, M, Ts) -> (N, 2 + f * t, D) last hidden state."""
        return self.layernorm(self.encoder(self.embeddings(spec)))


class AstAudioFeatures(nn.Module):
    """Synchformer audio branch: normalised log-mel segments (N, M, Ts) -> (N, t, D) temporal tokens.

    Sizes are keyword arguments whose defaults are the official ones (128 mels x 66 frames, 16x16
    patches with stride 10 -> 12 x 6 patches, ViT-B width 768, 12 layers, 12 heads).
    """

    def __init__(
        self,
        *,
        num_mel_bins: int = 128,
        num_frames: int = 66,
        patch: int = 16,
        stride: int = 10,
        dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
    ) -> None:
        super().__init__()
        self.num_mel_bins, self.num_frames = num_mel_bins, num_frames
        self.freq_patches = num_patches(num_mel_bins, patch=patch, stride=stride)
        self.time_patches = num_patches(num_frames, patch=patch, stride=stride)
        tokens = self.freq_patches * self.time_patches
        self.ast = AstModel(
            dim=dim, depth=depth, num_heads=num_heads, num_tokens=tokens, patch=patch, stride=stride
        )
        self.freq_attn_agg = SpatialAttentionPooling(dim=dim, num_heads=num_heads, hidden_dim=4 * dim)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """spec: (N, M, Ts) with M = num_mel_bins, Ts = num_frames -> (N, t, D), t = time patches (6)."""
        x = self.ast(spec)[:, 2:]  # (N, f * t, D), CLS and DISTILL dropped
        per_time = rearrange(x, "n (f t) d -> (n t) f d", f=self.freq_patches)
        pooled = self.freq_attn_agg(per_time)  # (N * t, D)
        return rearrange(pooled, "(n t) d -> n t d", t=self.time_patches)  # (N, t, D)
