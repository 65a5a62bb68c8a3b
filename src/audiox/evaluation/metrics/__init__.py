"""Pure metric functions over embeddings and class logits (numpy, float64, no weights):
FD/FAD (`frechet.py`), paired KL (`kl.py`), Inception Score (`inception.py`), CLAP score (`clap_score.py`)."""

from audiox.evaluation.metrics.clap_score import ClapScore, clap_score
from audiox.evaluation.metrics.frechet import (
    GaussianStats,
    frechet_distance,
    frechet_from_stats,
    gaussian_stats,
)
from audiox.evaluation.metrics.inception import InceptionScore, inception_score
from audiox.evaluation.metrics.kl import KLScores, paired_kl

__all__ = [
    "ClapScore", "GaussianStats", "InceptionScore", "KLScores", "clap_score", "frechet_distance",
    "frechet_from_stats", "gaussian_stats", "inception_score", "paired_kl",
]
