"""One golden-vector case folder, read and normalised (`config.json`, `case.json`, three safetensors)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from audiox.checkpoints.aligned import load_aligned
from audiox.errors import InputError

CASE_FILES = ("case.json", "config.json", "state_dict.safetensors", "inputs.safetensors", "outputs.safetensors")


@dataclass(frozen=True)
class Case:
    """A case folder. `inputs` are float32 where stored as int8 `*_q8` codes (value = code / 16, the suffix
    dropped) or as float16; bool masks stay uint8 (use `!= 0`)."""

    folder: Path
    kind: str
    meta: dict[str, Any]
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    inputs: dict[str, torch.Tensor]
    outputs: dict[str, torch.Tensor]

    @property
    def name(self) -> str:
        return self.folder.name

    def harness_numbers(self, module: str) -> dict[str, int]:
        """Sizes of a submodule the harness rebuilt smaller (`harness_substitutions` in config.json, or the
        `harness_overrides` prose of case.json, e.g. "SA_Transformer(dim=768, depth=1, heads=2, ...)")."""
        subs = self.config.get("harness_substitutions", {}).get(module)
        if isinstance(subs, dict):
            return {k: int(v) for k, v in subs.items()}
        text = self.meta.get("harness_overrides", {}).get(module)
        if not isinstance(text, str):
            return {}
        call = text.split(";")[0]
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", call)}


def read_case(folder: str | Path) -> Case:
    """Read a case folder; raises `InputError` naming the missing file."""
    folder = Path(folder)
    for name in CASE_FILES:
        if not (folder / name).is_file():
            raise InputError(f"{folder}: not a golden-vector case, {name} is missing")
    meta = json.loads((folder / "case.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    kind = meta.get("case", folder.name)
    return Case(
        folder=folder,
        kind=kind,
        meta=meta,
        config=config,
        state_dict=load_aligned(folder / "state_dict.safetensors"),
        inputs=_normalise_inputs(load_aligned(folder / "inputs.safetensors")),
        outputs=load_aligned(folder / "outputs.safetensors"),
    )


def _normalise_inputs(raw: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in raw.items():
        if key.endswith("_q8") and value.dtype == torch.int8:
            out[key[: -len("_q8")]] = value.float() / 16
        elif value.dtype in (torch.float16, torch.bfloat16, torch.float64):
            out[key] = value.float()
        else:
            out[key] = value
    return out


def find_cases(root: str | Path) -> list[Path]:
    """Case folders under `root` (itself if it is a case), sorted by name."""
    root = Path(root)
    if (root / "case.json").is_file():
        return [root]
    return sorted(p.parent for p in root.rglob("case.json"))


def load_case_weights(module: torch.nn.Module, case: Case, prefix: str) -> torch.nn.Module:
    """Strictly load the case's tensors under the official key `prefix` (stripped) into `module` through
    the same loader as real checkpoints; returns it in eval mode. Keys outside `prefix` are an error."""
    from audiox.checkpoints.load import load_into

    outside = [k for k in case.state_dict if not k.startswith(prefix)]
    if outside:
        raise InputError(f"{case.name}: state dict has keys outside {prefix!r}, e.g. {outside[:3]}")
    state = {k[len(prefix) :]: v for k, v in case.state_dict.items()}
    load_into(module, state, config_name=case.name, source=f"{case.name}/state_dict.safetensors")
    return module.eval()
