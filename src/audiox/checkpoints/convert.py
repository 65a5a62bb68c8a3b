"""Convert an official checkpoint (pickle or safetensors, any official layout) to one safetensors file.

The output holds the canonical official key names (`model.model.*`, `conditioner.conditioners.*`,
`pretransform.model.*`, `maf_block.*`; wrappers stripped, EMA weights chosen, legacy weight-norm names),
so it also loads in the official code, and the model config JSON in its metadata under `config`
(k-diffusion's idea: one file is a whole model). Written atomically (tmp file + `os.replace`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file

from audiox.checkpoints import keys
from audiox.checkpoints.read import read_checkpoint
from audiox.config.parse import parse_config, read_json
from audiox.errors import CheckpointError, ConfigError


@dataclass(frozen=True, kw_only=True, slots=True)
class Conversion:
    """What `convert_checkpoint` wrote."""

    path: Path
    num_tensors: int
    has_config: bool


def convert_checkpoint(
    src: str | Path, dst: str | Path, config_path: str | Path | None = None, *, trust_pickle: bool = False
) -> Conversion:
    """Read `src`, map its keys to the canonical official names, write `dst` as safetensors.

    `config_path` (an official `config.json`, validated strictly) goes into the metadata; without it a
    config already carried by `src` (converted file, Lightning `model_config`) is kept.
    `trust_pickle=True` lets a pickle run code while loading: only for files from a trusted source.
    """
    src, dst = Path(src), Path(dst)
    _check_destination(src, dst)
    state_dict, src_metadata = read_checkpoint(src, trust_pickle=trust_pickle)
    official = keys.to_official(keys.to_internal(state_dict))
    metadata = {"format": "pt", "converted_from": src.name}
    config_json = _config_json(config_path, src_metadata, source=src.name)
    if config_json is not None:
        metadata["config"] = config_json
    write_safetensors_atomic(standalone_tensors(official), dst, metadata)
    return Conversion(path=dst, num_tensors=len(official), has_config=config_json is not None)


def _check_destination(src: Path, dst: Path) -> None:
    if dst.suffix != ".safetensors":
        raise CheckpointError(f"{dst}: output name must end in .safetensors")
    if not dst.parent.is_dir():
        raise CheckpointError(f"{dst}: output folder {dst.parent} does not exist; create it first")
    if src.exists() and dst.exists() and src.resolve() == dst.resolve():
        raise CheckpointError(f"{dst}: output would overwrite the input; pass another -o path")


def _config_json(config_path: str | Path | None, src_metadata: dict[str, str], *, source: str) -> str | None:
    """Config JSON text for the metadata, validated strictly; None when there is none."""
    if config_path is not None:
        path = Path(config_path)
        data = read_json(path, missing_hint="pass the model's config.json")
        parse_config(data, source=path.name)
        return json.dumps(data)
    if "config" not in src_metadata:
        return None
    try:
        data = json.loads(src_metadata["config"])
    except json.JSONDecodeError:
        raise ConfigError(
            f"{source}: its embedded config is not valid JSON; pass --config config.json"
        ) from None
    parse_config(data, source=f"{source} (embedded config; pass --config to replace it)")
    return json.dumps(data)


def standalone_tensors(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached, contiguous tensors that each own their whole storage (safetensors refuses shared storage)."""
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for key, tensor in state_dict.items():
        tensor = tensor.detach().contiguous()
        storage = tensor.untyped_storage()
        shared = tensor.numel() > 0 and storage.data_ptr() in seen
        partial = storage.nbytes() != tensor.numel() * tensor.element_size()
        if shared or partial:
            tensor = tensor.clone()
        if tensor.numel():
            seen.add(tensor.untyped_storage().data_ptr())
        out[key] = tensor
    return out


def write_safetensors_atomic(tensors: dict[str, torch.Tensor], dst: Path, metadata: dict[str, str]) -> None:
    """Write to a temporary file beside `dst`, then rename it over `dst` (never a half-written file)."""
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    try:
        save_file(tensors, str(tmp), metadata=metadata)
        os.replace(tmp, dst)
    except OSError as e:
        raise CheckpointError(
            f"{dst}: could not write ({e.strerror or e}); check free space and permissions"
        ) from None
    finally:
        if tmp.exists():
            tmp.unlink()
