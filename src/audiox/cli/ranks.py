"""`audiox generate --batch` across processes, GPUs and machines with torch.distributed (launched by torchrun).

    torchrun --nproc-per-node 8 -m audiox.cli.main generate --batch prompts.txt --out-dir outs/ --device cuda

torchrun sets WORLD_SIZE / RANK / LOCAL_RANK (and the rendezvous address); every rank then reads the same
list, plans every output name the same way (names depend on the list only, never on which files exist or
which rank runs first), and generates only its shard: items i with i % WORLD_SIZE == RANK, disjoint and
together complete. `--device cuda` means each rank's own GPU (cuda:LOCAL_RANK). The ranks talk only to
agree on the seed and to add up their failures (gloo, which works for CPU and GPU runs alike). A rerun
skips items whose files are already there (outputs are written atomically, so a file that exists is
complete), which makes an interrupted run resumable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

GROUP_BACKEND = "gloo"  # only small objects pass between ranks; gloo serves CPU-only and GPU jobs alike


@dataclass(frozen=True)
class Ranks:
    """This process's place among `world` processes (rank 0 of 1 when not launched by torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    def mine(self, index: int) -> bool:
        """Whether item `index` of the batch belongs to this rank's shard."""
        return index % self.world == self.rank

    def device(self, name: str) -> str:
        """A bare accelerator name ("cuda") is this rank's own one on a multi-process run."""
        if self.world > 1 and name in ("cuda", "xpu"):
            return f"{name}:{self.local_rank}"
        return name


def join(environ: dict[str, str] | None = None) -> Ranks:
    """Ranks from torchrun's environment; the process group is started when WORLD_SIZE > 1."""
    env = os.environ if environ is None else environ
    world = int(env.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks()
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(GROUP_BACKEND)
    return Ranks(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=int(env.get("LOCAL_RANK", "0")))


def agree(value: object, ranks: Ranks) -> object:
    """Rank 0's `value` on every rank (e.g. the random seed of a run without --seed)."""
    if ranks.world == 1:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def total(count: int, ranks: Ranks) -> int:
    """The sum of `count` over all ranks (every rank gets it)."""
    if ranks.world == 1:
        return count
    import torch.distributed as dist

    counts: list[int] = [0] * ranks.world
    dist.all_gather_object(counts, count)
    return sum(counts)


def leave(ranks: Ranks) -> None:
    """Wait for every rank, then close the process group (a no-op for a single process)."""
    if ranks.world == 1:
        return
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
