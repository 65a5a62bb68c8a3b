"""Read weight files safely: safetensors, or torch pickles with `weights_only=True`.

A pickle that needs code execution to load is refused with a `CheckpointError` that names the file and
says how to convert it once, where the user trusts it. Official containers are unwrapped here:
`{"state_dict": ...}` (official `model.ckpt`, Lightning), the Turbo layouts (a raw dict of tensors, or
the first dict among `state_dict` / `model` / `student` / `student_state_dict`), flat safetensors.
Key names are left untouched: `audiox.checkpoints.keys` maps them.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from audiox.checkpoints.aligned import aligned
from audiox.errors import CheckpointError

# Turbo loader order: the first of these that holds a dict is the state dict
CONTAINER_KEYS = ("state_dict", "model", "student", "student_state_dict")
SAFETENSORS_SUFFIXES = (".safetensors", ".sft")


def read_checkpoint(
    path: str | Path, *, trust_pickle: bool = False
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a weight file into (flat state dict, metadata).

    Safetensors metadata is returned as stored (`config` holds the model config JSON when written by
    `audiox convert`). For a Lightning pickle with a `model_config` dict, metadata `config` is its JSON.
    `trust_pickle=True` lets a pickle run code while loading: only for files from a trusted source.
    """
    path = check_file(path)
    if is_safetensors(path):
        return read_safetensors(path)
    obj = read_pickle(path, trust_pickle=trust_pickle)
    metadata: dict[str, str] = {}
    model_config = obj["model_config"] if isinstance(obj, dict) and "model_config" in obj else None
    if isinstance(model_config, dict):  # written by the official training callback
        metadata["config"] = json.dumps(model_config)
    return unwrap_state_dict(obj, source=path.name), metadata


def check_file(path: str | Path) -> Path:
    """`path` as a Path; `CheckpointError` naming it when it is not a readable file."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(
            f"{path} is a folder, not a weight file; pass the .ckpt or .safetensors file inside it"
        )
    if not path.is_file():
        raise CheckpointError(
            f"{path}: checkpoint file not found; check the path (or download the model first)"
        )
    return path


def is_safetensors(path: Path) -> bool:
    """True for a `.safetensors` name or a file starting with an 8-byte header size then `{`."""
    if path.suffix in SAFETENSORS_SUFFIXES:
        return True
    with path.open("rb") as f:
        head = f.read(9)
    if len(head) < 9 or head[8:9] != b"{":
        return False
    header_size = int.from_bytes(head[:8], "little")
    return header_size < path.stat().st_size


def read_safetensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors (on CPU, 64-byte aligned: `checkpoints.aligned`) and the string metadata of a safetensors
    file."""
    path = check_file(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = dict(f.metadata() or {})
            tensors = {key: aligned(f.get_tensor(key)) for key in f.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(
            f"{path}: not a readable safetensors file ({_one_line(e)}); re-download or re-convert it"
        ) from None
    return tensors, metadata


def read_pickle(path: str | Path, *, trust_pickle: bool = False) -> object:
    """Load a torch pickle on CPU with `weights_only=True` (or fully, when the caller trusts the file)."""
    path = check_file(path)
    if trust_pickle:
        # explicit user opt-in (`audiox convert --trust-pickle`): the pickle may run code
        return _torch_load(path, weights_only=False)
    return _torch_load(path, weights_only=True)


def _torch_load(path: Path, *, weights_only: bool) -> object:
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except pickle.UnpicklingError as e:
        text = str(e)
        if "Weights only load failed" in text:
            raise CheckpointError(
                f"{path}: this pickle needs code execution to load ({_unsafe_reason(text)}), "
                "so it is refused; "
                f"in an environment where you trust the file run `audiox convert {path} -o "
                f"{path.with_suffix('.safetensors').name} --trust-pickle` and use the .safetensors file"
            ) from None
        raise _unreadable(path, e) from None
    except (EOFError, KeyError, RuntimeError, ValueError, OSError, AttributeError, ImportError) as e:
        raise _unreadable(path, e) from None


def _unreadable(path: Path, e: BaseException) -> CheckpointError:
    reason = _one_line(e) or type(e).__name__
    return CheckpointError(
        f"{path}: not a readable torch checkpoint ({reason}); the file may be truncated, re-download it"
    )


def _unsafe_reason(text: str) -> str:
    match = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if match:
        return f"it contains a {match.group(1)} object"
    match = re.search(r"WeightsUnpickler error: ([^\n]+)", text)
    return match.group(1).strip().rstrip(".") if match else "it holds Python objects other than tensors"


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200]


def unwrap_state_dict(obj: object, *, source: str) -> dict[str, torch.Tensor]:
    """The flat `{key: tensor}` dict inside an official container.

    Accepted: a flat dict of tensors; `{"state_dict": {...}, ...}`; `{"model"|"student"|
    "student_state_dict": {...}, ...}` (first dict wins, in that order, like the Turbo loader).
    """
    if not isinstance(obj, dict):
        raise CheckpointError(
            f"{source}: holds a {type(obj).__name__}, not a dict of tensors; pass a state-dict checkpoint"
        )
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return _flat(obj, source)
    for key in CONTAINER_KEYS:
        if key in obj and isinstance(obj[key], dict):
            return _flat(obj[key], f"{source}[{key!r}]")
    top = ", ".join(repr(k) for k in list(obj)[:8]) or "none"
    raise CheckpointError(
        f"{source}: no state dict found (top-level keys: {top}); expected a flat dict of tensors or a "
        f"container with one of {', '.join(CONTAINER_KEYS)}"
    )


def _flat(state_dict: dict, source: str) -> dict[str, torch.Tensor]:
    if not state_dict:
        raise CheckpointError(f"{source}: the state dict is empty; the file holds no weights")
    for key, value in state_dict.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(
                f"{source}: entry {key!r} holds a {type(value).__name__}, not a tensor; "
                "pass a state-dict checkpoint"
            )
    return dict(state_dict)
