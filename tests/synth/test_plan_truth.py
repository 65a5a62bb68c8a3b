"""Teacher-forced plans (own option `plan_truth`) and the concrete timeline made from the planner's
expected one (`plan_concrete`)."""

from __future__ import annotations

import pytest
import torch

from audiox.conditioning.plan_concrete import concrete_plan
from audiox.synth.events import EVENT_KINDS
from audiox.synth.plan_pretraining import PLAN_CHANNELS

K = len(EVENT_KINDS)
KNOCK, BELL = EVENT_KINDS.index("knock"), EVENT_KINDS.index("bell")


def _events(plan: torch.Tensor) -> list[tuple[int, str, int]]:
    """(start slot, kind, length in slots) of a 0/1 timeline (S, channels)."""
    out = []
    for k in range(K):
        for s in torch.nonzero(plan[:, K + k]).flatten().tolist():
            out.append((s, EVENT_KINDS[k], int(plan[s:, k].cumprod(0).sum())))
    return sorted(out)


def test_concrete_plan_lays_out_the_expected_counts_in_order():
    soft = torch.zeros(1, 20, PLAN_CHANNELS)
    soft[0, :10, K + KNOCK] = 0.2  # two knocks expected, somewhere in the first half
    soft[0, :10, KNOCK] = 0.2
    soft[0, 5:18, K + BELL] = 1 / 13  # one bell, later, two slots long
    soft[0, 5:18, BELL] = 2 / 13
    soft[0, :, K + EVENT_KINDS.index("rain")] = 0.01  # 0.2 expected: not asked
    plan = concrete_plan(soft)[0]
    events = _events(plan)
    assert [e[1] for e in events] == ["knock", "knock", "bell"]
    knocks, bell = [e for e in events if e[1] == "knock"], next(e for e in events if e[1] == "bell")
    assert all(e[2] == 1 for e in knocks) and bell[2] == 2
    assert bell[0] > max(e[0] for e in knocks)  # after the knocks: the order of expected onsets
    assert set(plan.unique().tolist()) <= {0.0, 1.0} and plan[:, -1].sum() == 0


def test_concrete_plan_of_music_is_the_music_channel_only():
    soft = torch.full((2, 8, PLAN_CHANNELS), 0.3)
    soft[0, :, -1] = 0.9
    plan = concrete_plan(soft)
    assert (plan[0, :, -1] == 1).all() and plan[0, :, :-1].sum() == 0
    assert plan[1, :, -1].sum() == 0 and plan[1].sum() > 0


def test_conditioner_uses_a_given_timeline_in_its_rows_only():
    from tests.synth.test_plan_pretraining import _planned_conditioner

    text = _planned_conditioner(slots=8)
    with torch.no_grad():
        text.plan_proj.weight.normal_()
    hidden, attention = text.encode_text(["a bell rings twice", "a knock"])
    truth = torch.zeros(2, 8, PLAN_CHANNELS)
    truth[:, 2:4, BELL] = 1.0
    rows = torch.tensor([True, False])
    forced, _ = text.project_hidden(hidden, attention, plan=truth, plan_rows=rows)
    plain, _ = text.project_hidden(hidden, attention)
    assert torch.allclose(forced[0, 16:], text.plan_proj(truth[0]))
    assert torch.equal(forced[1], plain[1]) and torch.equal(forced[0, :16], plain[0, :16])


def test_plan_truth_dataset_adds_the_labels_timeline_of_captioned_items(tmp_path):
    from audiox.synth.dataset import SynthConfig, sample_labels
    from audiox.synth.plan_pretraining import timeline
    from audiox.synth.plan_truth import PlanTruthDataset

    class Items:
        def __init__(self):
            self.items = [("a knock", "text_condition-audio", "synth://3/5"), ("", "video_condition-audio", "synth://3/6")]

        def __len__(self):
            return len(self.items)

        def load_example(self, index, generator=None):
            text, data_type, path = self.items[index]
            return {"text_prompt": text, "data_type": data_type, "path": path}

        def collate(self, examples):
            return {"path": [e["path"] for e in examples]}

    world = SynthConfig(seed=3, sample_rate=1000, channels=1)
    data = PlanTruthDataset(Items(), world, slots=12, share=1.0)
    first = data.load_example(0)
    assert torch.equal(first["plan_truth"], torch.from_numpy(timeline(sample_labels(world, 5), 12)))
    assert first["plan_truth_rows"]
    from audiox.training.manifest import default_text_prompt

    data.dataset.items[1] = (default_text_prompt("video_condition-audio"), "video_condition-audio", "synth://3/6")
    batch = data.collate([data.load_example(0), data.load_example(1)])
    assert batch["plan_truth"].shape == (2, 12, PLAN_CHANNELS) and batch["plan_truth_rows"].tolist() == [True, False]
    assert not PlanTruthDataset(Items(), world, slots=12, share=0.0).load_example(0)["plan_truth_rows"]
    import pickle

    copied = pickle.loads(pickle.dumps(PlanTruthDataset(_Picklable(), world, slots=12, share=1.0)))
    assert len(copied) == 1 and torch.equal(copied.load_example(0)["plan_truth"], first["plan_truth"])
    with pytest.raises(Exception, match="world seed"):
        PlanTruthDataset(Items(), SynthConfig(seed=4), slots=12, share=1.0).load_example(0)


def test_a_concrete_planned_folder_round_trips_and_differs_from_the_expected_plan(tmp_path):
    import json

    from audiox.pipeline import AudioX, GenerationRequest
    from audiox.pipeline.load import save_pipeline
    from audiox.synth.training_data import build_own_model, text_conditioner

    model, options = build_own_model("mmdit", seed=0, plan_slots=16, plan_concrete=True)
    with torch.no_grad():
        text_conditioner(model).plan_proj.weight.normal_()
    save_pipeline(AudioX(model), tmp_path / "m", options=options)
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    text = next(c for c in config["model"]["conditioning"]["configs"] if c["id"] == "text_prompt")["config"]
    assert text["plan_concrete"] is True
    loaded = AudioX.from_pretrained(tmp_path / "m")
    assert text_conditioner(loaded.model).plan_concrete
    request = GenerationRequest(text="a bell rings twice", duration_s=1.0, seed=0, steps=1)
    concrete = loaded(request).audio
    assert torch.equal(AudioX(model)(request).audio, concrete)
    text_conditioner(loaded.model).plan_concrete = False
    assert not torch.equal(loaded(request).audio, concrete)


def test_recipe_needs_the_planner_for_plan_truth():
    from audiox.config.own_recipe import OwnRecipe
    from audiox.errors import ConfigError

    with pytest.raises(ConfigError, match="plan-slots"):
        OwnRecipe(plan_truth=0.5)
    with pytest.raises(ConfigError, match="plan_truth"):
        OwnRecipe(plan_truth=2.0, plan_slots=48)


class _Picklable:
    """A one-item stand-in dataset defined at module level (data-loader workers pickle the dataset)."""

    def __len__(self):
        return 1

    def load_example(self, index, generator=None):
        return {"text_prompt": "a knock", "data_type": "text_condition-audio", "path": "synth://3/5"}
