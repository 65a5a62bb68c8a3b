"""Low-rank adapters (LoRA, Hu et al. 2021) on a backbone's `nn.Linear` layers.

A target Linear y = W x gains y += (alpha / rank) * scale * B (A x) with A: (rank, in), B: (out, rank);
B starts at zero, so a new adapter leaves the model's output unchanged. The adapters live OUTSIDE the
backbone (`LoraAdapters`, attached with forward hooks while training), so the backbone's parameters and
state-dict keys stay the official ones: checkpoints, the strict loader, EMA and export are untouched.
At load time an adapter is merged into the weights (`merge_adapter`): W += (alpha / rank) * scale * B A,
so generation costs nothing extra; scale 0 leaves W untouched (bit-exact base).

(`peft` is not used: it replaces each target layer by a wrapper and renames the base weights to
`<layer>.base_layer.weight`, which the official-key loader / exporter and the EMA would all have to know.)
Shapes: x (..., in), A (rank, in), B (out, rank), W (out, in).
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from audiox.errors import ConfigError


def linear_targets(backbone: nn.Module, patterns: Sequence[str] = ()) -> list[str]:
    """Names of the backbone's nn.Linear layers that match any glob in `patterns` (a plain word matches
    any name containing it, e.g. "to_qkv"); no patterns: every Linear. ConfigError when none match."""
    names = [name for name, module in backbone.named_modules() if isinstance(module, nn.Linear)]
    if patterns:
        globs = [p if any(c in p for c in "*?[") else f"*{p}*" for p in patterns]
        names = [n for n in names if any(fnmatch.fnmatchcase(n, g) for g in globs)]
    if not names:
        raise ConfigError(f"LoRA: no nn.Linear layer of the backbone matches {list(patterns)}; "
                          "name layers like to_qkv, to_out, linear, or leave --lora-targets out for all")
    return names


def _key(name: str) -> str:
    return name.replace(".", "/")  # ModuleDict keys cannot contain "."


class LoraPair(nn.Module):
    """A (rank, in) and B (out, rank) of one target layer; `forward(x)` = B A x: (..., in) -> (..., out)."""

    def __init__(self, in_features: int, out_features: int, rank: int) -> None:
        super().__init__()
        self.A = nn.Parameter(torch.empty(rank, in_features))
        self.B = nn.Parameter(torch.zeros(out_features, rank))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # nn.Linear's own init

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.linear(nn.functional.linear(x, self.A.to(x.dtype)), self.B.to(x.dtype))


class LoraAdapters(nn.Module):
    """One `LoraPair` per target Linear of a backbone, with `rank` and `alpha` (scaling alpha / rank)."""

    def __init__(self, backbone: nn.Module, targets: Sequence[str], *, rank: int, alpha: float | None = None) -> None:
        super().__init__()
        if rank < 1:
            raise ConfigError(f"LoRA: rank={rank} must be >= 1")
        self.rank, self.alpha = rank, float(alpha if alpha is not None else rank)
        self.targets = list(targets)
        layers = {name: backbone.get_submodule(name) for name in self.targets}
        self.pairs = nn.ModuleDict(
            {_key(n): LoraPair(m.in_features, m.out_features, rank) for n, m in layers.items()}
        )

    @property
    def scaling(self) -> float:
        return self.alpha / self.rank

    def pair(self, name: str) -> LoraPair:
        return self.pairs[_key(name)]

    def attach(self, backbone: nn.Module, scale: float = 1.0) -> list[RemovableHandle]:
        """Forward hooks adding scale * (alpha / rank) * B A x to each target's output (training-time use);
        remove the returned handles to detach."""
        handles = []
        for name in self.targets:
            pair, weight = self.pair(name), self.scaling * scale

            def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor, pair=pair, weight=weight) -> Tensor:
                return output + weight * pair(inputs[0])

            handles.append(backbone.get_submodule(name).register_forward_hook(hook))
        return handles

    def adapter_tensors(self) -> dict[str, Tensor]:
        """{"<layer>.lora_A.weight": (rank, in), "<layer>.lora_B.weight": (out, rank)} on the CPU."""
        out = {}
        for name in self.targets:
            pair = self.pair(name)
            out[f"{name}.lora_A.weight"] = pair.A.detach().float().cpu().contiguous()
            out[f"{name}.lora_B.weight"] = pair.B.detach().float().cpu().contiguous()
        return out


def base_identity(backbone: nn.Module, targets: Sequence[str]) -> str:
    """sha256 over the names, shapes and float32 values of the target layers' weights: which base model an
    adapter was trained on (the adapter changes only these layers)."""
    digest = hashlib.sha256()
    for name in sorted(targets):
        weight = backbone.get_submodule(name).weight.detach().float().cpu().contiguous()
        digest.update(f"{name}:{tuple(weight.shape)};".encode())
        digest.update(weight.numpy().tobytes())
    return digest.hexdigest()


@torch.no_grad()
def merge_adapter(backbone: nn.Module, tensors: dict[str, Tensor], *, rank: int, alpha: float, scale: float) -> int:
    """W += scale * (alpha / rank) * B A for every layer in `tensors` (`LoraAdapters.adapter_tensors`
    keys); scale 0 changes nothing. Returns the number of layers changed."""
    if scale == 0.0:
        return 0
    names = sorted({key.rsplit(".lora_", 1)[0] for key in tensors})
    for name in names:
        layer = backbone.get_submodule(name)
        delta = tensors[f"{name}.lora_B.weight"].float() @ tensors[f"{name}.lora_A.weight"].float()  # (out, in)
        layer.weight += (scale * alpha / rank * delta).to(layer.weight.dtype).to(layer.weight.device)
    return len(names)
