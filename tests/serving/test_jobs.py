"""The job queue against a stand-in pipeline whose steps the test releases: order, bounds, cancel, stop,
failures."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from audiox.errors import MediaError
from audiox.pipeline import AudioOutput, GenerationRequest
from audiox.serving.jobs import JobQueue, QueueFull
from audiox.serving.store import Job, JobStore, request_record

STEPS = 4


class GatedPipe:
    """Stands in for AudioX: every sampler step waits for `gate`; a text "fail" raises a MediaError."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.gate = threading.Event()

    def __call__(self, request: GenerationRequest, *, on_step) -> AudioOutput:
        self.calls.append(request.text)
        if request.text == "fail":
            raise MediaError("clip.mp4: no video stream")
        if request.text == "bug":
            raise KeyError("oops")
        for step in range(STEPS):
            assert self.gate.wait(30)
            on_step(step + 1, STEPS)
        return AudioOutput(audio=torch.zeros(request.batch_size, 1, 8), sample_rate=8, request=request)


def written(job: Job, output: AudioOutput) -> dict[str, list[str]]:
    if output.request.text == "unwritable":
        raise OSError("disk full")
    return {"audio": [f"audio_{i}.wav" for i in range(len(output.audio))]}


def new_job(store: JobStore, text: str) -> Job:
    job_id, _ = store.new_folder()
    return Job(id=job_id, request=request_record(GenerationRequest(text=text)), created=time.time())


def wait_state(job: Job, states: tuple[str, ...]) -> None:
    deadline = time.monotonic() + 30
    while job.state not in states:
        assert time.monotonic() < deadline, job.state
        time.sleep(0.005)


@pytest.fixture
def queue(tmp_path):
    pipe = GatedPipe()
    queue = JobQueue(pipe, JobStore(tmp_path, keep_s=60), written, queue_size=2, workers=1)
    queue.start()
    yield queue
    pipe.gate.set()
    queue.stop()


def test_jobs_run_once_each_in_the_order_accepted(queue):
    jobs = [queue.submit(new_job(queue.store, text)) for text in ("a", "b")]
    wait_state(jobs[0], ("running",))
    jobs.append(queue.submit(new_job(queue.store, "c")))
    assert [queue.position(j) for j in jobs] == [None, 0, 1]
    queue.pipe.gate.set()
    for job in jobs:
        wait_state(job, ("done",))
    assert queue.pipe.calls == ["a", "b", "c"] and queue.counts()["completed"] == 3
    assert jobs[2].files == {"audio": ["audio_0.wav"]} and jobs[2].progress == 1.0


def test_a_full_queue_refuses_and_keeps_what_it_accepted(queue):
    running = queue.submit(new_job(queue.store, "a"))
    wait_state(running, ("running",))
    waiting = [queue.submit(new_job(queue.store, t)) for t in ("b", "c")]
    refused = new_job(queue.store, "d")
    with pytest.raises(QueueFull) as info:
        queue.submit(refused)
    assert info.value.retry_after_s >= 1 and queue.store.get(refused.id) is None
    queue.pipe.gate.set()
    for job in [running, *waiting]:
        wait_state(job, ("done",))
    assert queue.pipe.calls == ["a", "b", "c"]


def test_cancel_a_waiting_and_a_running_job(queue):
    running = queue.submit(new_job(queue.store, "a"))
    waiting = queue.submit(new_job(queue.store, "b"))
    wait_state(running, ("running",))
    assert queue.cancel(waiting) and queue.cancel(running)
    queue.pipe.gate.set()
    wait_state(running, ("cancelled",))
    assert waiting.state == "cancelled" and queue.pipe.calls == ["a"] and not queue.cancel(running)


def test_failures_become_one_line_messages(queue):
    queue.pipe.gate.set()
    jobs = []
    for text in ("fail", "bug", "unwritable"):
        jobs.append(queue.submit(new_job(queue.store, text)))
        wait_state(jobs[-1], ("failed",))
    assert [j.error for j in jobs] == ["MediaError: clip.mp4: no video stream", "internal error: KeyError: 'oops'",
                                       "writing the results failed: OSError: disk full"]


def test_stop_leaves_the_running_and_waiting_jobs_queued_for_a_restart(tmp_path):
    pipe = GatedPipe()
    queue = JobQueue(pipe, JobStore(tmp_path, keep_s=60), written, queue_size=2, workers=1)
    queue.start()
    running, waiting = (queue.submit(new_job(queue.store, t)) for t in ("a", "b"))
    wait_state(running, ("running",))
    stopper = threading.Thread(target=queue.stop)
    stopper.start()
    pipe.gate.set()  # the running job sees the stop at its next step
    stopper.join(30)
    assert (running.state, waiting.state) == ("queued", "queued")
    again = JobQueue(pipe, JobStore(tmp_path, keep_s=60), written, queue_size=2, workers=1)
    again.start()
    try:
        for job_id in (running.id, waiting.id):
            wait_state(again.store.get(job_id), ("done",))
    finally:
        again.stop()
    assert pipe.calls == ["a", "a", "b"]
