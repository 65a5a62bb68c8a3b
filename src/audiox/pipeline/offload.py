"""Stage-by-stage device placement (`AudioX(offload=True)`, `audiox generate --offload`) for small GPUs.

A generation runs three stages in turn, each needing only its own weights on the accelerator:
- conditioners: the conditioner set (T5 projection, CLIP / Synchformer towers, the audio prompt's VAE copy),
  the T5 encoder (held outside the module tree), the MAF fusion block and the Synchformer;
- backbone: the DiT / MMDiT (the sampler steps);
- vae: the pretransform (decode; also the encode of inpainting and init audio).
With offload the model stays in host memory and `stage(name)` moves that stage's modules onto the device
after moving the other stages' modules back to the host, so the device holds one stage at a time (peak =
the largest stage plus activations). A stage stays on the device until another one is asked for, so
repeated requests for the same stage cost nothing. On a CPU there is nothing to offload to: the placer is
accepted and does nothing. Numbers do not change: moving a tensor between devices keeps its values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import torch
from torch import nn

STAGES = ("conditioners", "backbone", "vae")
HOST = torch.device("cpu")

Move = Callable[[nn.Module, torch.device], None]


def _move(module: nn.Module, device: torch.device) -> None:
    module.to(device)


class StagePlacer:
    """Keeps one stage's modules on `device` at a time. `stages`: stage name -> its modules (a module may
    appear in several stages; the active stage's copy wins). `move(module, device)`: how a module is moved
    (tests pass a recorder). `enabled` False, or a CPU `device`: every call is a no-op."""

    def __init__(
        self,
        stages: Mapping[str, Sequence[nn.Module]],
        device: torch.device,
        *,
        enabled: bool = True,
        move: Move = _move,
    ) -> None:
        unknown = set(stages) - set(STAGES)
        if unknown:
            raise ValueError(f"unknown offload stages {sorted(unknown)}; known: {', '.join(STAGES)}")
        self.stages = {name: [m for m in modules if m is not None] for name, modules in stages.items()}
        self.device = torch.device(device)
        self.enabled = enabled and self.device.type != "cpu"
        self.active: str | None = None
        self._move = move

    def activate(self, name: str) -> None:
        """Move every module of the other stages to the host, then the modules of `name` to the device."""
        if not self.enabled or name == self.active:
            return
        if name not in self.stages:
            raise ValueError(f"unknown offload stage {name!r}; known: {', '.join(self.stages)}")
        wanted = {id(m) for m in self.stages[name]}
        for other, modules in self.stages.items():
            for module in modules if other != name else ():
                if id(module) not in wanted:
                    self._move(module, HOST)
        for module in self.stages[name]:
            self._move(module, self.device)
        self.active = name

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """`with placer.stage("backbone"): ...` runs the block with that stage on the device."""
        self.activate(name)
        yield


def pipeline_stages(model: nn.Module, synchformer: nn.Module | None) -> dict[str, list[nn.Module]]:
    """The stage -> modules map of a `DiffusionModel` (and the pipeline's Synchformer)."""
    conditioners: list[nn.Module] = [model.conditioner, model.maf_block, synchformer]
    if model.conditioner is not None:
        for conditioner in model.conditioner.conditioners.values():
            encoder = getattr(conditioner, "text_encoder", None)  # T5: a plain attribute, outside the tree
            if encoder is not None:
                conditioners.append(encoder.model)
    return {"conditioners": conditioners, "backbone": [model.backbone], "vae": [model.pretransform]}


def resident_modules(model: nn.Module) -> list[nn.Module]:
    """The model's direct children that belong to no stage (kept on the device throughout)."""
    staged = {id(m) for m in (model.conditioner, model.maf_block, model.backbone, model.pretransform)}
    return [child for child in model.children() if id(child) not in staged]


def in_stage(name: str) -> Callable:
    """Method decorator: `self._placer.activate(name)` before the method runs (a pipeline's stage work)."""

    def wrap(method: Callable) -> Callable:
        @functools.wraps(method)
        def run(self, *args, **kwargs):
            self._placer.activate(name)
            return method(self, *args, **kwargs)

        return run

    return wrap
