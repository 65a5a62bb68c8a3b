"""Evaluation: instruction-following scores (Cat/Cnt/Ord/TS, `instruction.py`) and an analyser that is
independent of the generator (`analyser.py`: event detection + classification, V2A onset sync, tempo,
key; run `python -m audiox.evaluation.analyser` for the truth / noise / random-guess figures)."""

from audiox.evaluation.instruction import InstructionScores, score_instruction, score_sample

__all__ = ["InstructionScores", "score_instruction", "score_sample"]
