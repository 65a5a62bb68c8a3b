"""SnakeBeta activation with log-scale parameters (the Oobleck VAE's only activation with weights)."""

from __future__ import annotations

import torch
from torch import nn


def snake_beta(x: torch.Tensor, log_alpha: torch.Tensor, log_beta: torch.Tensor) -> torch.Tensor:
    """y = x + 1/(exp(beta) + 1e-9) * sin(x * exp(alpha))^2, per channel.

    x: (B, C, S); log_alpha, log_beta: (C,) -> (B, C, S).
    """
    alpha = torch.exp(log_alpha)[None, :, None]  # (1, C, 1)
    beta = torch.exp(log_beta)[None, :, None]  # (1, C, 1)
    if torch.is_grad_enabled() and (x.requires_grad or log_alpha.requires_grad or log_beta.requires_grad):
        return x + (1.0 / (beta + 1e-9)) * torch.sin(x * alpha).pow(2)
    # inference: the same operations in place on one temporary (bit-identical: * and + commute exactly),
    # about 3x faster on a CPU than allocating four full-size temporaries
    out = x * alpha
    out.sin_().pow_(2).mul_(1.0 / (beta + 1e-9))
    return out.add_(x)


class SnakeBeta(nn.Module):
    """Snake with separate frequency (`alpha`) and magnitude (`beta`), both stored as logarithms.

    Attribute names are the official state-dict keys (`alpha`, `beta`, shape (C,), init 0).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, S) -> (B, C, S)."""
        return snake_beta(x, self.alpha, self.beta)


def make_activation(*, use_snake: bool, channels: int) -> nn.Module:
    """SnakeBeta(channels) when `use_snake`, else a parameter-free ELU (the official fallback)."""
    return SnakeBeta(channels) if use_snake else nn.ELU()
