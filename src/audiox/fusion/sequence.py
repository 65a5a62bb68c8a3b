"""Cross-attention context of the backbone, assembled from the conditioner outputs.

Mirrors the official `get_conditioning_inputs` for the cross-attention part (AudioX uses no global,
prepend or input-concat conditioning).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from audiox.errors import ConfigError, InputError
from audiox.fusion.maf import MafBlock

Condition = tuple[Tensor, Tensor]  # (tokens (B, T, D), mask (B, M))


def _as_sequence(cond_id: str, condition: Condition) -> Condition:
    """2-D (B, D) tokens get a sequence axis, (B, 1, D), like the official code; their mask stays (B, M)
    (the official code also unsqueezes it, which only works for a single conditioner; AudioX has none)."""
    tokens, mask = condition
    if tokens.dim() == 2:
        return tokens.unsqueeze(1), mask
    if tokens.dim() != 3:
        raise InputError(
            f"condition {cond_id!r}: tokens.shape={tuple(tokens.shape)}, expected (B, T, D) or (B, D)"
        )
    return tokens, mask


def assemble_condition_sequence(
    conditions: Mapping[str, Condition],
    cross_attention_cond_ids: Sequence[str],
    maf: MafBlock | None = None,
) -> tuple[Tensor, Tensor]:
    """Build (context (B, N, D), mask (B, M)) from `conditions[id] = (tokens (B, T, D), mask (B, M_id))`.

    Without `maf`: tokens concatenated over the sequence in id order. With `maf` (exactly three ids, taken
    by position as video, text, audio): the official wiring, see the quirk below. Masks are always
    concatenated in id order (torch type promotion: bool + float masks give a float mask); the backbones
    ignore them.
    """
    missing = [i for i in cross_attention_cond_ids if i not in conditions]
    if missing:
        raise InputError(f"no conditioner output for cross-attention ids {missing}; got {sorted(conditions)}")
    items = [_as_sequence(i, conditions[i]) for i in cross_attention_cond_ids]
    mask = torch.cat([m for _, m in items], dim=1)  # (B, sum M_id)
    if maf is None:
        return torch.cat([t for t, _ in items], dim=1), mask  # (B, N, D)
    if len(items) != 3:
        raise ConfigError(
            f"the MAF gate needs exactly 3 cross_attention_cond_ids (video, text, audio), got {list(cross_attention_cond_ids)}"
        )
    (video, _), (text, _), (audio, _) = items
    # official quirk: the wrapper calls MAF_Block(text, video, audio) against its (video, text, audio)
    # signature, so the "video" slot processes TEXT and the "text" slot VIDEO; the fused context is the
    # slot outputs in slot order = [text', video', audio'] (without MAF the order is video, text, audio).
    fused = maf(text, video, audio)
    context = torch.cat([fused.video, fused.text, fused.audio], dim=1)  # (B, T_t + T_v + T_a, D)
    return context, mask
