"""Which compute devices exist here, and a one-line error naming them when a requested one does not."""

from __future__ import annotations

import torch

from audiox.errors import InputError


def available_devices() -> list[str]:
    """The devices this machine can run on: "cpu", then "cuda:N" for each GPU, "mps" (Apple), "xpu:N"."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.append("mps")
    xpu = getattr(torch, "xpu", None)
    if xpu is not None and xpu.is_available():
        names += [f"xpu:{i}" for i in range(xpu.device_count())]
    return names


def check_device(name: str | torch.device) -> torch.device:
    """`name` as a torch.device when it exists on this machine; InputError listing the ones that do."""
    have = available_devices()
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"unknown device {str(name)!r}; this machine has: {', '.join(have)}") from None
    if device.type == "cpu":
        return device
    index = device.index if device.index is not None else 0
    if f"{device.type}:{index}" in have or (device.type == "mps" and "mps" in have):
        return device
    raise InputError(f"device {str(name)!r} is not available here; this machine has: {', '.join(have)}")
