"""A 2-process CPU DDP run (gloo) completes and both ranks hold identical weights afterwards."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, folder: str, manifest: str) -> None:
    # processes are created here, so Lightning reads rank and world from the environment
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": "2",
                       "LOCAL_RANK": str(rank), "NODE_RANK": "0", "RANK": str(rank)})
    torch.set_num_threads(1)
    from audiox.training.config import TrainConfig, apply_overrides
    from audiox.training.fit import build_training_model, train_diffusion
    from tests.training.tiny_data import FAST_TRAIN

    cfg = apply_overrides(TrainConfig(), [*FAST_TRAIN, "run.max_steps=2", "run.batch_size=1", "run.strategy=ddp",
                                          "run.devices=2", "run.accelerator=cpu"])
    built = build_training_model(model_config="tiny-dit", seed=rank)  # different inits: DDP must sync them
    result = train_diffusion(built.model, cfg, manifest, os.path.join(folder, "run"))
    state = {k: v.detach().clone() for k, v in result.module.state_dict().items()}
    torch.save({"state": state, "rank": result.trainer.global_rank, "world": result.trainer.world_size,
                "step": result.trainer.global_step}, os.path.join(folder, f"rank{rank}.pt"))


@pytest.mark.slow
def test_two_process_ddp_ranks_hold_identical_weights(tmp_path):
    from tests.training.tiny_data import write_tiny_dataset

    manifest = write_tiny_dataset(tmp_path / "data", num_items=4)
    mp.start_processes(_worker, args=(_free_port(), str(tmp_path), str(manifest)), nprocs=2, start_method="spawn")
    results = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert [(r["rank"], r["world"], r["step"]) for r in results] == [(0, 2, 2), (1, 2, 2)]
    a, b = results[0]["state"], results[1]["state"]
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert (tmp_path / "run" / "export" / "final" / "model.safetensors").is_file()
