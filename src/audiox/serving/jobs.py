"""The bounded job queue: jobs run one at a time, in the order they were accepted, on the one loaded model.

One model thread takes the oldest waiting job, runs the pipeline (reporting sampler progress), and hands
the audio to a small pool of writer threads (WAV, spectrogram, muxed video), so writing one job's files
overlaps the next job's generation. At most `queue_size` jobs wait; a submission beyond that is refused
with `QueueFull` (HTTP 429) and nothing is dropped once accepted.
"""

from __future__ import annotations

import math
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from audiox.errors import AudioXError
from audiox.pipeline import AudioOutput, AudioX
from audiox.serving.store import FINAL_STATES, Job, JobStore

Writer = Callable[[Job, AudioOutput], dict[str, list[str]]]  # writes a job's files, returns their names


class QueueFull(Exception):
    """The queue holds `queue_size` waiting jobs; retry after `retry_after_s` seconds."""

    def __init__(self, waiting: int, retry_after_s: int) -> None:
        super().__init__(f"the queue is full ({waiting} jobs waiting); retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class _Cancelled(Exception):
    """The user cancelled the running job."""


class _Interrupted(Exception):
    """The server is stopping; the running job goes back to the queue on disk (a restart runs it)."""


class JobQueue:
    """Accepts jobs (`submit`), runs them in order on `pipe`, writes results with `write`."""

    def __init__(self, pipe: AudioX, store: JobStore, write: Writer, *, queue_size: int, workers: int) -> None:
        self.pipe, self.store, self.write = pipe, store, write
        self.queue_size = queue_size
        self._waiting: deque[Job] = deque()
        self._running: Job | None = None
        self._cond = threading.Condition()
        self._stopping = False
        self._writers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="audiox-writer")
        self._write_slots = threading.Semaphore(workers)  # bounds finished outputs held in memory
        self._run_seconds: deque[float] = deque(maxlen=16)
        self.completed = 0  # jobs finished (done, failed or cancelled) since start
        self._thread = threading.Thread(target=self._loop, name="audiox-model", daemon=True)

    def start(self) -> None:
        """Queue again the jobs a previous run accepted but did not finish, then start the model thread."""
        for job in self.store.load():
            self.store.update(job, state="queued", progress=0.0, started=None)
            self._waiting.append(job)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Interrupt the running job at its next sampler step and leave it and the waiting ones queued on
        disk (a restart runs them); finish writing results already generated; stop the threads."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._writers.shutdown(wait=True)

    def submit(self, job: Job) -> Job:
        """Accept `job` (already checked) or raise QueueFull; an accepted job is on disk before this returns."""
        with self._cond:
            if len(self._waiting) >= self.queue_size:
                raise QueueFull(len(self._waiting), self.retry_after_s())
            self.store.add(job)
            self._waiting.append(job)
            self._cond.notify_all()
        return job

    def cancel(self, job: Job) -> bool:
        """Cancel a waiting or running job; False when it had already finished."""
        with self._cond:
            if job.state in FINAL_STATES:
                return False
            if job in self._waiting:
                self._waiting.remove(job)
                self.store.update(job, state="cancelled", finished=time.time(), error="cancelled by the user")
                self.completed += 1
            else:
                job.cancel_requested = True  # the model thread stops at the next sampler step
        return True

    def position(self, job: Job) -> int | None:
        """Jobs ahead of a waiting job (0: next), None when it is not waiting."""
        with self._cond:
            return self._waiting.index(job) if job in self._waiting else None

    def counts(self) -> dict[str, int]:
        with self._cond:
            return {"waiting": len(self._waiting), "running": int(self._running is not None),
                    "queue_size": self.queue_size, "completed": self.completed}

    def retry_after_s(self) -> int:
        """Seconds until a waiting slot is likely free: the mean recent run time (at least 1 s)."""
        mean = sum(self._run_seconds) / len(self._run_seconds) if self._run_seconds else 5.0
        return max(1, math.ceil(mean))

    # ------------------------------------------------------------------------------ model thread

    def _next(self) -> Job | None:
        with self._cond:
            while not self._waiting and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            self._running = self._waiting.popleft()
            return self._running

    def _loop(self) -> None:
        while (job := self._next()) is not None:
            self._run(job)

    def _run(self, job: Job) -> None:
        start = time.time()
        self.store.update(job, state="running", started=start)
        try:
            output = self.pipe(job.generation_request(), on_step=lambda done, total: self._tick(job, done, total))
            failure = None
        except Exception as exc:  # noqa: BLE001 - sorted out in _fail, once the model is marked free
            output, failure = None, exc
        with self._cond:
            self._running = None
        if failure is not None:
            return self._fail(job, failure)
        self._run_seconds.append(time.time() - start)
        self._write_slots.acquire()
        self._writers.submit(self._write, job, output)

    def _fail(self, job: Job, exc: Exception) -> None:
        """A cancelled, interrupted or failed run: the job's new state, with a one-line reason."""
        if isinstance(exc, _Interrupted):
            self.store.update(job, state="queued", started=None, progress=0.0)
        elif isinstance(exc, _Cancelled):
            self._finish(job, "cancelled", "cancelled by the user")
        elif isinstance(exc, AudioXError):
            self._finish(job, "failed", f"{type(exc).__name__}: {exc}")
        else:  # a bug: the client gets one line, the server log the traceback
            traceback.print_exception(exc, file=sys.stderr)
            self._finish(job, "failed", f"internal error: {type(exc).__name__}: {exc}")

    def _tick(self, job: Job, done: int, total: int) -> None:
        if job.cancel_requested:
            raise _Cancelled
        if self._stopping:
            raise _Interrupted
        self.store.update(job, persist=False, progress=done / total)

    def _write(self, job: Job, output: AudioOutput) -> None:
        try:
            files = self.write(job, output)
        except Exception as exc:  # noqa: BLE001 - disk full, codec missing...: the job fails, with why
            traceback.print_exc(file=sys.stderr)
            self._finish(job, "failed", f"writing the results failed: {type(exc).__name__}: {exc}")
        else:
            self.store.update(job, files=files)
            self._finish(job, "done", None)
        finally:
            self._write_slots.release()

    def _finish(self, job: Job, state: str, error: str | None) -> None:
        with self._cond:  # a client that sees the final state also sees it counted
            self.completed += 1
            self.store.update(job, state=state, error=error, finished=time.time(),
                              progress=1.0 if state == "done" else job.progress)
