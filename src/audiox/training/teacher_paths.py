"""Teacher ODE paths for distillation's regression loss (DMD, Yin et al. 2024, section 3.3).

The original DMD pairs its distribution-matching loss with a regression loss: for a fixed set of noises the
teacher's deterministic ODE sample is computed once, and the one-step student learns to map each noise to
it. For a K-step student on the grid t_0 = 1 > t_1 > ... > t_{K-1} (`sampling.schedules.timesteps_dmd`)
every grid point gets a target: the point of the teacher's ODE path at t_k maps to the path's end.

`write_teacher_paths` runs the teacher once per item of an encode-dataset cache, on the item's unmasked
conditions (flow-view Euler, the teacher's CFG, `teacher_path_steps` steps; a v teacher through its flow
view), and stores per item a
(K + 1, C, L) tensor: the path at t_0..t_{K-1}, then its end x0. Euler's path is piecewise linear in t, so
a grid point between two Euler steps is read off exactly. Items are written in chunks (one safetensors file
each, atomically) so an interrupted run continues; `paths.json` records the teacher (a hash of its backbone)
and the settings, and a folder made by another teacher or with other settings is refused.
`TeacherPathDataset` is the cache with each item's path added (`teacher_path`: (K + 1, C, L); batches
(B, K + 1, C, L)).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from torch import Tensor, nn
from tqdm.auto import tqdm

from audiox.checkpoints.convert import write_safetensors_atomic
from audiox.diffusion.denoiser import flow_velocity
from audiox.diffusion.guidance import apply_cfg
from audiox.diffusion.model import DiffusionModel
from audiox.errors import ConfigError
from audiox.media.audio import atomic_output
from audiox.sampling.schedules import timesteps_dmd
from audiox.training.encode_dataset import CachedDataConfig, CachedDataset

META_FILE = "paths.json"
CHUNK = 32
VERSION = 1


def euler_path_points(velocity: Any, noise: Tensor, ts: Tensor, query: Tensor) -> Tensor:
    """Euler over the decreasing grid `ts` (steps + 1,) from `noise` (B, C, L), read at the times `query`
    (Q,) (each in (0, ts[0]]) and at the end: -> (B, Q + 1, C, L). `velocity(z, t: (B,)) -> (B, C, L)`."""
    points: dict[int, Tensor] = {}
    x = noise
    for i in range(len(ts) - 1):
        t, t_next = ts[i], ts[i + 1]
        v = velocity(x, t * x.new_ones(x.shape[0]))
        for q, tq in enumerate(query.tolist()):
            if q not in points and t_next < tq <= t:  # the path is x + (tq - t) v on (t_next, t]
                points[q] = x + (tq - t) * v
        x = x + (t_next - t) * v
    missing = [q for q in range(len(query)) if q not in points]
    if missing:
        raise ConfigError(f"teacher paths: times {query[missing].tolist()} are outside the grid {ts.tolist()}")
    return torch.stack([points[q] for q in range(len(query))] + [x], dim=1)


def backbone_hash(backbone: nn.Module) -> str:
    """sha256 of the backbone's tensors (names, shapes and bytes): which teacher made the paths."""
    digest = hashlib.sha256()
    for name, tensor in sorted(backbone.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def path_settings(teacher: nn.Module, student_steps: int, teacher_steps: int, guidance: float, seed: int) -> dict:
    return {"version": VERSION, "teacher": backbone_hash(teacher), "student_steps": student_steps,
            "teacher_steps": teacher_steps, "guidance": guidance, "seed": seed}


def write_teacher_paths(
    model: DiffusionModel, teacher: nn.Module, cache: CachedDataset, out_dir: str | os.PathLike, *,
    student_steps: int, teacher_steps: int, guidance: float, seed: int, batch_size: int = 16,
) -> Path:
    """Compute (or finish) the teacher paths of every item of `cache` under `out_dir`. `model` supplies
    the frozen conditioners, `teacher` is the backbone that runs; each item's context and noise come from
    `item_condition`. Returns `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = path_settings(teacher, student_steps, teacher_steps, guidance, seed)
    meta = out / META_FILE
    if meta.is_file():
        found = json.loads(meta.read_text())
        if found != {**settings, "num_items": len(cache)}:
            raise ConfigError(f"{out}: these teacher paths were made by another teacher, cache or settings; "
                              "use a fresh --out")
    else:
        with atomic_output(meta) as tmp:
            tmp.write_text(json.dumps({**settings, "num_items": len(cache)}, indent=2))
    grid = timesteps_dmd(student_steps)[:-1]  # (K,) the student's input times
    ts = torch.linspace(1, 0, teacher_steps + 1)
    device = next(teacher.parameters()).device
    chunks = range(0, len(cache), CHUNK)
    todo = [start for start in chunks if not (out / chunk_name(start)).is_file()]
    done = sum(min(CHUNK, len(cache) - start) for start in chunks if start not in todo)
    with torch.no_grad(), tqdm(total=len(cache), initial=done, desc="teacher paths", unit="item",
                               disable=None) as bar:
        for start in todo:
            tensors = {}
            for first in range(start, min(start + CHUNK, len(cache)), batch_size):
                items = list(range(first, min(first + batch_size, start + CHUNK, len(cache))))
                pairs = [item_condition(model, cache, i, seed, device) for i in items]
                context = torch.cat([c for c, _ in pairs])  # (B, N, D)
                noise = torch.cat([n for _, n in pairs])  # (B, C, L)
                forward = partial(apply_cfg, teacher, context=context, cfg_scale=guidance)
                paths = euler_path_points(flow_velocity(forward, model.objective), noise, ts.to(device), grid)
                tensors.update({str(i): paths[j].float().cpu().contiguous() for j, i in enumerate(items)})
                bar.update(len(items))
            write_safetensors_atomic(tensors, out / chunk_name(start), {"format": "audiox-teacher-paths"})
    return out


def item_condition(model: DiffusionModel, cache: CachedDataset, index: int, seed: int,
                   device: torch.device | None = None) -> tuple[Tensor, Tensor]:
    """Item `index`'s unmasked context (1, N, D) and its path's starting noise (1, C, L), both drawn from
    one generator seeded with (seed, index): the same whatever the batch it is computed in."""
    from audiox.training.distill_config import NO_MASKING
    from audiox.training.lightning_module import target_and_context

    generator = torch.Generator().manual_seed(seed * 1_000_003 + index)
    batch = cache.collate([cache[index]])
    batch = {k: v.to(device) if isinstance(v, Tensor) and device is not None else v for k, v in batch.items()}
    x0, context = target_and_context(model, batch, NO_MASKING, generator)
    return context, torch.randn(x0.shape, generator=generator).to(x0.device)


def chunk_name(start: int) -> str:
    return f"paths_{start:06d}.safetensors"


class TeacherPathDataset(CachedDataset):
    """An encode-dataset cache whose items also carry their teacher path (`teacher_path`: (K + 1, C, L))."""

    def __init__(self, cache_dir: str | os.PathLike, paths_dir: str | os.PathLike,
                 cfg: CachedDataConfig | None = None) -> None:
        super().__init__(cache_dir, cfg)
        self.paths_dir = Path(paths_dir)
        meta = json.loads((self.paths_dir / META_FILE).read_text())
        if meta["num_items"] != len(self):
            raise ConfigError(f"{paths_dir}: teacher paths for {meta['num_items']} items, the cache has {len(self)}")
        self._path_files: dict[str, Any] = {}

    def load_example(self, index: int, generator: torch.Generator | None = None) -> dict[str, Any]:
        example = super().load_example(index, generator)
        name = chunk_name(index - index % CHUNK)
        if name not in self._path_files:
            self._path_files[name] = safe_open(str(self.paths_dir / name), framework="pt")
        example["teacher_path"] = self._path_files[name].get_tensor(str(index))
        return example

    def collate(self, examples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        batch = super().collate(examples)
        batch["teacher_path"] = torch.stack([e["teacher_path"] for e in examples])  # (B, K + 1, C, L)
        return batch

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_path_files": {}}
