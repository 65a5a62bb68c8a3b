"""Fusion stage: the MAF block and the assembly of the cross-attention context from conditioner outputs."""

from audiox.fusion.maf import MafBlock, MafOutput
from audiox.fusion.sequence import assemble_condition_sequence

__all__ = ["MafBlock", "MafOutput", "assemble_condition_sequence"]
