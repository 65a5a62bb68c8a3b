"""Training the own model on the true timeline of its captions (teacher-forced plan; own option).

With the caption planner (`conditioning.caption_planner`) the diffusion model normally trains on the
planner's prediction: for a caption without times that is a spread of where the events may fall, so the
model learns to treat the plan as a vague hint and fills the rest of the clip from its prior. Here a share
of the captioned training items gets instead the exact timeline of its own labels (`plan_pretraining.timeline`:
which kind sounds and starts in each slot), so the plan becomes a score the model renders: these kinds, here,
nothing else. At generation the planner's prediction is made concrete first (`conditioning.plan_concrete`).

`PlanTruthDataset` wraps a training dataset whose items carry `path` "synth://<world seed>/<index>" (the
synthetic world's cache or dataset) and adds per item `plan_truth` (slots, channels) and `plan_truth_rows`
(bool: use it). Items whose text is not their caption (the default sentence of a task without text) never
use it, nor does an item whose caption the training step masks (`training.lightning_module._cached_text`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from audiox.errors import InputError

PATH_PREFIX = "synth://"


def _world_index(path: str) -> tuple[int, int]:
    if not path.startswith(PATH_PREFIX):
        raise InputError(f"teacher-forced plans need synthetic-world items (synth://seed/index), got {path!r}")
    seed, index = path[len(PATH_PREFIX):].split("/")
    return int(seed), int(index)


class PlanTruthDataset:
    """`dataset` with the true timeline of each item's labels (module docstring). `world`: the SynthConfig
    the items were drawn from (its seed must match the paths'); `share` in [0, 1]: the fraction of
    captioned items that use it (drawn once per item from `seed`, so the same items every epoch)."""

    def __init__(self, dataset: Any, world: Any, *, slots: int, share: float, seed: int = 0) -> None:
        if not 0.0 <= share <= 1.0:
            raise InputError(f"plan truth share {share} must be in [0, 1]")
        self.dataset, self.world, self.slots, self.share, self.seed = dataset, world, slots, share, seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str) -> Any:  # cfg, index, set_epoch, ... of the wrapped dataset
        if "dataset" not in self.__dict__:  # while unpickling (data-loader workers): not set up yet
            raise AttributeError(name)
        return getattr(self.__dict__["dataset"], name)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.load_example(index)

    def load_example(self, index: int, generator: torch.Generator | None = None) -> dict[str, Any]:
        from audiox.synth.dataset import sample_labels
        from audiox.synth.plan_pretraining import timeline
        from audiox.training.manifest import default_text_prompt

        example = dict(self.dataset.load_example(index, generator))
        world_seed, item = _world_index(example["path"])
        if world_seed != self.world.seed:
            raise InputError(f"item {example['path']} is not from world seed {self.world.seed}")
        labels = sample_labels(self.world, item)
        captioned = example["text_prompt"] != default_text_prompt(example["data_type"])
        drawn = np.random.default_rng([self.seed, item, 11]).random() < self.share
        example["plan_truth"] = torch.from_numpy(timeline(labels, self.slots))  # (slots, channels)
        example["plan_truth_rows"] = bool(captioned and drawn)
        return example

    def collate(self, examples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        batch = self.dataset.collate(examples)
        batch["plan_truth"] = torch.stack([e["plan_truth"] for e in examples])  # (B, slots, channels)
        batch["plan_truth_rows"] = torch.tensor([e["plan_truth_rows"] for e in examples])  # (B,)
        return batch
