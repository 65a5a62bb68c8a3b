"""Audio-visual synchronisation for `audiox eval --metrics desync`: our implementation of the full Synchformer
classifier (its visual branch is `audiox.conditioning.synchformer`; the AST audio branch, the offset
transformer and the whole model live here), its audio and video inputs, and the DeSync reduction."""

from audiox.evaluation.avsync.classifier import PUBLISHED_SIZE, SyncClassifier, SyncClassifierSize
from audiox.evaluation.avsync.desync import desync_from_logits, offset_grid

__all__ = ["PUBLISHED_SIZE", "SyncClassifier", "SyncClassifierSize", "desync_from_logits", "offset_grid"]
