"""Wall time per pipeline stage (conditioners, prepare, steps, decode), for benchmarks and profiling.

`AudioX(..., clock=StageClock())` adds the seconds each stage of every window took to `clock.seconds`;
the default `NO_CLOCK` measures nothing. On CUDA the device is synchronised at both ends of a stage, so a
stage's figure holds its own kernels and not the previous stage's queued work.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

STAGES = ("conditioners", "prepare", "steps", "decode")


class StageClock:
    """Accumulates seconds per stage name over every call; `reset()` empties it."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def reset(self) -> None:
        self.seconds = {}

    @contextmanager
    def stage(self, name: str, device: torch.device) -> Iterator[None]:
        sync = torch.cuda.synchronize if device.type == "cuda" else None
        if sync:
            sync(device)
        start = time.perf_counter()
        try:
            yield
        finally:
            if sync:
                sync(device)
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


class _NoClock(StageClock):
    @contextmanager
    def stage(self, name: str, device: torch.device) -> Iterator[None]:
        yield


NO_CLOCK = _NoClock()
