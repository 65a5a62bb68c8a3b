"""Stage-by-stage placement (`AudioX(offload=True)`, `--offload`): the placement logic against a fake device
map (no accelerator needed: a recorder stands in for `.to`), and offload on a CPU being an accepted no-op."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from audiox.cli.main import main
from audiox.pipeline import AudioX, GenerationRequest
from audiox.pipeline.offload import HOST, StagePlacer, pipeline_stages

FAKE_GPU = torch.device("cuda", 0)  # only a name here: the recorder never touches a real device


class FakeDeviceMap:
    """`move(module, device)` that records where each module would be instead of moving it."""

    def __init__(self) -> None:
        self.where: dict[int, str] = {}
        self.moves = 0

    def __call__(self, module: nn.Module, device: torch.device) -> None:
        self.where[id(module)] = device.type
        self.moves += 1

    def of(self, module: nn.Module) -> str:
        return self.where.get(id(module), "cpu")


def test_one_stage_on_the_device_at_a_time():
    a, b, c, shared = nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2)
    fake = FakeDeviceMap()
    placer = StagePlacer({"conditioners": [a, shared], "backbone": [b], "vae": [c, shared]}, FAKE_GPU, move=fake)
    placer.activate("conditioners")
    assert [fake.of(m) for m in (a, shared, b, c)] == ["cuda", "cuda", "cpu", "cpu"]
    placer.activate("backbone")
    assert [fake.of(m) for m in (a, shared, b, c)] == ["cpu", "cpu", "cuda", "cpu"]
    placer.activate("vae")
    assert [fake.of(m) for m in (a, shared, b, c)] == ["cpu", "cuda", "cpu", "cuda"]  # shared: the active stage wins
    moves = fake.moves
    with placer.stage("vae"):  # already there: nothing moves
        pass
    assert fake.moves == moves and placer.active == "vae"
    with pytest.raises(ValueError, match="unknown offload stage"):
        placer.activate("decoder")


def test_on_a_cpu_offload_moves_nothing():
    fake = FakeDeviceMap()
    placer = StagePlacer({"backbone": [nn.Linear(2, 2)]}, HOST, move=fake)
    placer.activate("backbone")
    assert not placer.enabled and fake.moves == 0 and placer.active is None


def test_each_stage_runs_with_only_its_modules_on_the_device(pipe, media):
    """Whole generations (two windows with CFG, the second with an audio prompt; a video) with a fake GPU map: whenever a stage's
    module computes, it is on the device and the other stages are in host memory."""
    model = pipe.model
    fake = FakeDeviceMap()
    offloaded = AudioX(model, synchformer=pipe.synchformer)
    offloaded._placer = StagePlacer(pipeline_stages(model, pipe.synchformer), FAKE_GPU, move=fake)
    stages = {"conditioners": model.conditioner, "backbone": model.backbone, "vae": model.pretransform}
    runners = {"conditioners": model.conditioner, "backbone": model.backbone,
               "vae": model.pretransform.model.decoder}
    seen: list[tuple[str, dict[str, str]]] = []

    def record(stage):
        return lambda *_: seen.append((stage, {name: fake.of(m) for name, m in stages.items()}))

    hooks = [module.register_forward_pre_hook(record(stage)) for stage, module in runners.items()]
    try:
        offloaded(GenerationRequest(text="rain", duration_s=12.0, steps=2, cfg_scale=3.0, seed=1))  # 2 windows
        offloaded(GenerationRequest(video=media["video"], duration_s=3.0, steps=1, seed=2))
    finally:
        for hook in hooks:
            hook.remove()
    assert {stage for stage, _ in seen} == set(stages)
    for stage, where in seen:
        assert where == {name: "cuda" if name == stage else "cpu" for name in stages}, (stage, where)
    t5 = next(c.text_encoder.model for c in model.conditioner.conditioners.values() if hasattr(c, "text_encoder"))
    assert fake.of(t5) == "cpu" and fake.of(pipe.synchformer) == "cpu"  # after the run: the VAE stage holds it


def test_offload_on_a_cpu_is_accepted_and_changes_nothing(dit_pipe, tiny_model_dir, tmp_path):
    request = GenerationRequest(text="bell", duration_s=1.0, steps=2, seed=3)
    offloaded = AudioX(dit_pipe.model, synchformer=dit_pipe.synchformer, offload=True)
    assert not offloaded._placer.enabled
    assert torch.equal(offloaded(request).audio, dit_pipe(request).audio)
    out = tmp_path / "bell.wav"
    code = main(["generate", "bell", "--model", str(tiny_model_dir), "--duration", "1", "--steps", "1",
                 "--offload", "-o", str(out), "--quiet"])
    assert code == 0 and out.stat().st_size > 0
