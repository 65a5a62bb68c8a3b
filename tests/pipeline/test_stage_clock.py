"""`StageClock`: a pipeline with a clock times each stage of every window and generates exactly what one
without a clock generates."""

from __future__ import annotations

import torch

from audiox.pipeline import AudioX, GenerationRequest
from audiox.pipeline.stage_clock import STAGES, StageClock


def test_clock_times_every_stage_of_every_window_without_changing_the_output(pipe):
    clock = StageClock()
    timed = AudioX(pipe.model, synchformer=pipe.synchformer, clock=clock)
    request = GenerationRequest(text="a dog barks", duration_s=2.0, seed=5, steps=2, cfg_scale=3.0)
    assert torch.equal(timed(request).audio, pipe(request).audio)
    assert set(clock.seconds) == set(STAGES) and all(s > 0 for s in clock.seconds.values())
    one_window = dict(clock.seconds)
    timed(request.replace(duration_s=12.0))  # two windows: every stage runs twice more
    assert all(clock.seconds[s] > one_window[s] for s in STAGES)
    clock.reset()
    assert clock.seconds == {}


def test_a_pipeline_without_a_clock_records_nothing(pipe):
    pipe(GenerationRequest(text="rain", duration_s=1.0, seed=1, steps=1))
    assert pipe.clock.seconds == {}
