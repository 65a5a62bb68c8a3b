"""LoRA adapter files: write (training export), read, check against the base model, merge at load time.

An adapter file is a safetensors file holding ONLY the adapter tensors (`<layer>.lora_A.weight` (rank, in),
`<layer>.lora_B.weight` (out, rank); layer names relative to the backbone, i.e. the official names after
`model.model.`) and in its metadata: `format` ("audiox-lora/1"), `rank`, `alpha`, `base_sha256` (the
`backbone.lora.base_identity` of the base it was trained on), `base_model` (the base folder, a hint only).
`audiox generate --model BASE --lora FILE[:SCALE]` and `AudioX.from_pretrained(BASE, lora=[...])` merge one
or more adapters into the backbone after every identity has been checked against the untouched base.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from safetensors import SafetensorError, safe_open
from torch import Tensor, nn

from audiox.backbone.lora import base_identity, merge_adapter
from audiox.checkpoints.convert import write_safetensors_atomic
from audiox.errors import CheckpointError

FORMAT = "audiox-lora/1"
ADAPTER_FILE = "adapter.safetensors"


@dataclass(frozen=True)
class AdapterFile:
    path: Path
    tensors: dict[str, Tensor]
    rank: int
    alpha: float
    base_sha256: str
    base_model: str

    @property
    def targets(self) -> list[str]:
        return sorted({key.rsplit(".lora_", 1)[0] for key in self.tensors})


def save_adapter(path: str | Path, tensors: dict[str, Tensor], *, rank: int, alpha: float, base_sha256: str,
                 base_model: str = "") -> Path:
    """Write an adapter file atomically (tensors from `LoraAdapters.adapter_tensors`)."""
    metadata = {"format": FORMAT, "rank": str(rank), "alpha": repr(float(alpha)), "base_sha256": base_sha256,
                "base_model": base_model}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_safetensors_atomic(tensors, path, metadata)
    return path


def read_adapter(path: str | Path) -> AdapterFile:
    """Read an adapter file (or a folder holding adapter.safetensors); CheckpointError if it is not one."""
    path = Path(path)
    if path.is_dir():
        path = path / ADAPTER_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: LoRA adapter not found; pass the adapter.safetensors that `audiox train "
                              "--lora` exported (OUT/export/final)")
    try:
        with safe_open(str(path), "pt") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable safetensors file ({' '.join(str(e).split())})") from None
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an audiox LoRA adapter (metadata format {metadata.get('format')!r}, "
                              f"expected {FORMAT!r})")
    return AdapterFile(path, tensors, int(metadata["rank"]), float(metadata["alpha"]), metadata["base_sha256"],
                       metadata.get("base_model", ""))


def parse_adapter_spec(spec: str | Path | tuple[str | Path, float]) -> tuple[Path, float]:
    """"FILE", "FILE:SCALE" or (FILE, SCALE) -> (path, scale); the scale defaults to 1."""
    if isinstance(spec, tuple):
        return Path(spec[0]), float(spec[1])
    head, sep, tail = str(spec).rpartition(":")
    if sep and head:
        try:
            return Path(head), float(tail)
        except ValueError:
            pass
    return Path(spec), 1.0


def apply_adapters(backbone: nn.Module, specs: list[str | Path | tuple[str | Path, float]]) -> list[AdapterFile]:
    """Merge each adapter (with its scale) into `backbone`, after checking every one against the untouched
    base: a CheckpointError names the first adapter trained on a different base."""
    adapters = [(read_adapter(path), scale) for path, scale in map(parse_adapter_spec, specs)]
    for adapter, _ in adapters:
        try:
            have = base_identity(backbone, adapter.targets)
        except AttributeError:
            have = None  # a target layer this backbone does not have
        if have != adapter.base_sha256:
            raise CheckpointError(
                f"{adapter.path}: this LoRA adapter was trained on a different base model "
                f"({adapter.base_model or 'base'} {adapter.base_sha256[:12]}, this model "
                f"{(have or 'lacks its layers')[:12]}); pass the --model it was trained from"
            )
    for adapter, scale in adapters:
        merge_adapter(backbone, adapter.tensors, rank=adapter.rank, alpha=adapter.alpha, scale=scale)
    return [a for a, _ in adapters]
