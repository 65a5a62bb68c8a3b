"""The server's one model, job store and queue, and what the HTTP API and the web UI ask of them."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from audiox.conditioning.text_t5 import T5TextConditioner
from audiox.conditioning.video_clip import ClipVideoBase
from audiox.pipeline import AudioOutput, AudioX
from audiox.sampling import SAMPLERS
from audiox.sampling.run import FLOW_SAMPLERS
from audiox.serving import submission
from audiox.serving.jobs import JobQueue
from audiox.serving.results import write_job_files
from audiox.serving.settings import ServeSettings
from audiox.serving.store import Job, JobStore

FILE_KINDS = ("audio", "spectrogram", "video")


class Service:
    """Owns the loaded pipeline, the job store under `settings.results_dir` and the queue."""

    def __init__(self, pipe: AudioX, settings: ServeSettings, *, model_name: str) -> None:
        self.pipe, self.settings, self.model_name = pipe, settings, model_name
        self.store = JobStore(settings.results_dir, settings.keep_s)
        self.queue = JobQueue(pipe, self.store, self._write, queue_size=settings.queue_size,
                              workers=settings.workers)
        self.started = time.time()
        self._janitor_stop = threading.Event()
        self._janitor = threading.Thread(target=self._expire_loop, name="audiox-janitor", daemon=True)

    def start(self) -> None:
        self.queue.start()
        self._janitor.start()

    def stop(self) -> None:
        self._janitor_stop.set()
        self.queue.stop()

    def _write(self, job: Job, output: AudioOutput) -> dict[str, list[str]]:
        return write_job_files(self.store.folder(job.id), job, output, self.model_name)

    def _expire_loop(self) -> None:
        """Remove expired results every minute (or every tenth of the keep time, when shorter)."""
        period = min(60.0, self.settings.keep_s / 10)
        while not self._janitor_stop.wait(period):
            self.store.expire()

    # ------------------------------------------------------------------------------ requests

    def submit(self, values: dict[str, Any], uploads: dict[str, tuple[str, BinaryIO]]) -> Job:
        """Check and queue a job (see `submission.submit` for what it raises)."""
        return submission.submit(self.pipe, self.store, self.queue, self.settings, values, uploads)

    def status(self, job_id: str) -> dict[str, Any] | None:
        """The job's state for clients: its record, its place in the queue, download paths; None if unknown."""
        job = self.store.get(job_id)
        record = self.store.snapshot(job_id)
        if job is None or record is None:
            return None
        files = record.pop("files")
        record["position"] = self.queue.position(job)
        record["seed"] = record["request"]["seed"]
        record["expires"] = record["finished"] + self.settings.keep_s if record["finished"] else None
        record["request"] = {k: (Path(v).name if k in ("video", "image", "audio") and v else v)
                             for k, v in record["request"].items()}
        record["files"] = {kind: [f"/v1/jobs/{job_id}/{kind}?index={i}" for i in range(len(files[kind]))]
                           for kind in FILE_KINDS if kind in files}
        return record

    def file(self, job_id: str, kind: str, index: int) -> Path | None:
        """The path of a finished job's file, or None."""
        job = self.store.get(job_id)
        if job is None or job.state != "done" or not 0 <= index < len(job.files.get(kind, [])):
            return None
        return self.store.folder(job_id) / job.files[kind][index]

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "uptime_s": round(time.time() - self.started, 1), **self.queue.counts()}

    def model_info(self) -> dict[str, Any]:
        """What the loaded model takes and produces, its sampler defaults and the server's limits."""
        pipe, defaults = self.pipe, self.pipe.defaults
        objective = pipe.model.objective
        if objective == "rectified_flow":  # DMD only for a distilled (Turbo) model, whose default it is
            samplers = ["rf-euler"] + ["dmd"] * (defaults.sampler == "dmd")
        else:
            samplers = [s for s in SAMPLERS if s not in FLOW_SAMPLERS]
        conditioners = pipe.model.conditioner.conditioners.values()
        inputs = ["text"] * any(isinstance(c, T5TextConditioner) for c in conditioners)
        inputs += ["video", "image"] * any(isinstance(c, ClipVideoBase) for c in conditioners)
        inputs += ["audio"] * any(not isinstance(c, (T5TextConditioner, ClipVideoBase)) for c in conditioners)
        s = self.settings
        return {
            "name": self.model_name, "sample_rate": pipe.sample_rate,
            "channels": pipe.model.pretransform.io_channels, "window_s": pipe.window_s,
            "objective": objective, "inputs": inputs, "samplers": samplers, "device": str(pipe.device),
            "defaults": {"sampler": defaults.sampler, "steps": defaults.steps, "cfg_scale": defaults.cfg_scale,
                         "sigma_min": defaults.sigma_min, "sigma_max": defaults.sigma_max},
            "limits": {"max_duration_s": s.max_duration_s, "max_batch_size": s.max_batch_size,
                       "max_steps": s.max_steps, "max_upload_bytes": s.max_upload_bytes,
                       "queue_size": s.queue_size, "keep_s": s.keep_s},
        }
