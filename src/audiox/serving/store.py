"""Jobs on disk: one folder per job under the server's results folder, holding its uploads, its results
and `job.json` (the request and the job's state, written atomically at every state change).

A restart reads the folders back: finished jobs within the keep time are served again, jobs that were
queued or running are queued again (an accepted job is never dropped), expired folders are removed.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audiox.media.audio import atomic_output
from audiox.pipeline import GenerationRequest

FINAL_STATES = ("done", "failed", "cancelled")
JOB_ID = re.compile(r"[0-9a-f]{32}")
RECORD = "job.json"


@dataclass(eq=False)  # a job is itself: compared by identity
class Job:
    """One generation job. `request`: the GenerationRequest's fields, JSON-ready (paths as strings);
    `files`: kind ("audio", "spectrogram", "video") -> file names inside the job folder, one per variation;
    `progress`: sampler steps done / total, 0..1."""

    id: str
    request: dict[str, Any]
    created: float
    state: str = "queued"
    started: float | None = None
    finished: float | None = None
    progress: float = 0.0
    error: str | None = None
    files: dict[str, list[str]] = field(default_factory=dict)
    cancel_requested: bool = False  # memory only

    def record(self) -> dict[str, Any]:
        """What job.json holds (everything but the in-memory cancel flag)."""
        out = dataclasses.asdict(self)
        del out["cancel_requested"]
        return out

    def generation_request(self) -> GenerationRequest:
        fields = dict(self.request)
        if fields.get("inpaint") is not None:
            fields["inpaint"] = tuple(fields["inpaint"])
        return GenerationRequest(**fields)


def request_record(request: GenerationRequest) -> dict[str, Any]:
    """A GenerationRequest as JSON-ready fields (media must be paths; the server never passes tensors)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(request):
        value = getattr(request, f.name)
        out[f.name] = str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
    return out


class JobStore:
    """Job records in memory and on disk under `root`. Thread-safe: every change goes through `update`."""

    def __init__(self, root: Path, keep_s: float) -> None:
        self.root, self.keep_s = Path(root), keep_s
        self.root.mkdir(parents=True, exist_ok=True)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def new_folder(self) -> tuple[str, Path]:
        """A fresh job id and its (empty) folder, for the uploads of a job about to be checked."""
        job_id = secrets.token_hex(16)
        folder = self.folder(job_id)
        folder.mkdir()
        return job_id, folder

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    def discard(self, job_id: str) -> None:
        """Remove the folder of a job that was never accepted (failed checks or a full queue)."""
        shutil.rmtree(self.folder(job_id), ignore_errors=True)

    def add(self, job: Job) -> None:
        with self._lock:
            self._save(job)
            self._jobs[job.id] = job

    def get(self, job_id: str) -> Job | None:
        if not JOB_ID.fullmatch(job_id):
            return None
        with self._lock:
            return self._jobs.get(job_id)

    def snapshot(self, job_id: str) -> dict[str, Any] | None:
        """A consistent copy of the job's record, or None when unknown or expired."""
        job = self.get(job_id)
        if job is None:
            return None
        with self._lock:
            return job.record()

    def update(self, job: Job, *, persist: bool = True, **changes: Any) -> None:
        """Change the job's fields together; persist=False for progress ticks (memory only)."""
        with self._lock:
            for name, value in changes.items():
                setattr(job, name, value)
            if persist:
                self._save(job)

    def _save(self, job: Job) -> None:
        with atomic_output(self.folder(job.id) / RECORD) as tmp:
            tmp.write_text(json.dumps(job.record(), indent=1))

    def load(self) -> list[Job]:
        """Read every job folder; returns the unfinished jobs (to queue again), oldest first."""
        self.expire()
        unfinished = []
        for path in sorted(self.root.glob(f"*/{RECORD}")):
            try:
                job = Job(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError) as exc:
                print(f"audiox serve: skipping {path}: unreadable job record ({exc})", file=sys.stderr)
                continue
            with self._lock:
                self._jobs[job.id] = job
            if job.state not in FINAL_STATES:
                unfinished.append(job)
        return sorted(unfinished, key=lambda job: job.created)

    def expire(self, now: float | None = None) -> int:
        """Remove finished jobs older than keep_s, and stray folders without a record; returns how many."""
        now = time.time() if now is None else now
        removed = 0
        with self._lock:
            for job_id in [i for i, j in self._jobs.items() if j.state in FINAL_STATES and _age(j, now) > self.keep_s]:
                del self._jobs[job_id]
                shutil.rmtree(self.folder(job_id), ignore_errors=True)
                removed += 1
            for folder in self.root.iterdir():
                if self._stale_unknown(folder, now):
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
        return removed

    def _stale_unknown(self, folder: Path, now: float) -> bool:
        """A job folder not in memory whose record says it is finished and old, or that has no record and
        was last touched more than keep_s ago (the leftovers of a crash during a submission)."""
        if not (folder.is_dir() and JOB_ID.fullmatch(folder.name)) or folder.name in self._jobs:
            return False
        record = folder / RECORD
        if not record.is_file():
            return now - folder.stat().st_mtime > self.keep_s
        try:
            data = json.loads(record.read_text())
        except (OSError, ValueError):
            return False
        return data.get("state") in FINAL_STATES and now - (data.get("finished") or now) > self.keep_s


def _age(job: Job, now: float) -> float:
    return now - (job.finished or now)
