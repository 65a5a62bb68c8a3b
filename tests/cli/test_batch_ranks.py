"""`audiox generate --batch` over torch.distributed ranks: disjoint shards that together cover the list,
output names fixed by the list (never by timing or existing files), finished items skipped on a rerun.
The end-to-end case runs 2 CPU processes (gloo) under torchrun on the tiny model folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import audiox
from audiox.cli.ranks import Ranks, join

PROMPTS = ["rain", "a bell", "rain", "wind", "knock"]  # "rain" twice: the second is rain_t2a_2.wav on every rank
EXPECTED = ["rain_t2a.wav", "a_bell_t2a.wav", "rain_t2a_2.wav", "wind_t2a.wav", "knock_t2a.wav"]


def test_shards_are_disjoint_and_complete():
    world = 3
    shards = [[i for i in range(10) if Ranks(rank=r, world=world).mine(i)] for r in range(world)]
    assert sorted(i for shard in shards for i in shard) == list(range(10)) and all(shards)
    assert Ranks(rank=1, world=2, local_rank=1).device("cuda") == "cuda:1"
    assert Ranks().device("cuda") == "cuda" and Ranks(world=2).device("cuda:3") == "cuda:3"
    assert join({"WORLD_SIZE": "1"}) == Ranks()


def test_single_process_skip_existing_resumes_a_batch(tiny_model_dir, tmp_path, capsys):
    from audiox.cli.main import main

    listing = tmp_path / "list.txt"
    listing.write_text("rain\nwind\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "rain_t2a.wav").write_bytes(b"finished before")
    args = ["generate", "--batch", str(listing), "--model", str(tiny_model_dir), "--out-dir", str(out),
            "--duration", "1", "--steps", "1", "--quiet", "--skip-existing"]
    assert main(args) == 0
    assert (out / "rain_t2a.wav").read_bytes() == b"finished before"  # kept, not moved on to rain_t2a_2
    assert sorted(p.name for p in out.iterdir()) == ["rain_t2a.wav", "wind_t2a.wav"]
    assert "wind_t2a.wav" in capsys.readouterr().out


@pytest.mark.slow
def test_two_gloo_ranks_split_the_batch_and_a_rerun_skips_finished_items(tiny_model_dir, tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(PROMPTS) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "wind_t2a.wav").write_bytes(b"finished before")  # an item an earlier run completed
    src = str(Path(audiox.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "audiox.cli.main", "generate", "--batch", str(listing), "--model", str(tiny_model_dir),
               "--out-dir", str(out), "--duration", "1", "--steps", "1", "--seed", "5", "--quiet"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert first.returncode == 0, first.stderr[-3000:]
    written = [Path(line.split("  (seed")[0]).name for line in first.stdout.splitlines() if "(seed 5)" in line]
    assert sorted(written) == sorted(set(EXPECTED) - {"wind_t2a.wav"})  # each item once: disjoint shards
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPECTED)
    assert (out / "wind_t2a.wav").read_bytes() == b"finished before"
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    (out / "knock_t2a.wav").unlink()  # as if the run had been stopped before this item
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 0, again.stderr[-3000:]
    assert [Path(line.split("  (seed")[0]).name for line in again.stdout.splitlines() if "(seed" in line] == [
        "knock_t2a.wav"
    ]
    assert all(p.stat().st_mtime_ns == stamps[p.name] for p in out.iterdir() if p.name != "knock_t2a.wav")
