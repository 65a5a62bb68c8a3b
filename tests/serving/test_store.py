"""Job records on disk: round trip, restart, expiry, id checks."""

from __future__ import annotations

import os
import time

from audiox.pipeline import GenerationRequest
from audiox.serving.store import Job, JobStore, request_record


def make_job(store: JobStore, **fields) -> Job:
    job_id, _ = store.new_folder()
    request = request_record(GenerationRequest(text="rain", inpaint=(1.0, 2.0), audio="take.wav", seed=2**63))
    job = Job(id=job_id, request=request, **{"created": time.time(), **fields})
    store.add(job)
    return job


def test_a_record_survives_a_restart(tmp_path):
    store = JobStore(tmp_path, keep_s=60)
    done = make_job(store, state="done", finished=time.time(), files={"audio": ["audio_0.wav"]})
    reopened = JobStore(tmp_path, keep_s=60)
    assert reopened.load() == []
    assert reopened.snapshot(done.id) == done.record()
    assert reopened.get(done.id).generation_request() == done.generation_request()
    assert done.generation_request().inpaint == (1.0, 2.0) and done.generation_request().seed == 2**63


def test_unfinished_jobs_come_back_oldest_first(tmp_path):
    store = JobStore(tmp_path, keep_s=60)
    first = make_job(store)
    second = make_job(store, state="running")
    make_job(store, state="failed", finished=time.time())
    assert [job.id for job in JobStore(tmp_path, keep_s=60).load()] == [first.id, second.id]


def test_expiry_removes_old_results_only(tmp_path, capsys):
    store = JobStore(tmp_path, keep_s=60)
    now = time.time()
    old = make_job(store, state="done", finished=now - 61)
    fresh = make_job(store, state="done", finished=now - 59)
    queued = make_job(store, created=now - 3600)
    stray = tmp_path / ("f" * 32)  # a crashed submission's folder without a record
    stray.mkdir()
    os.utime(stray, (now - 61, now - 61))
    (tmp_path / ("e" * 32)).mkdir()
    (tmp_path / ("e" * 32) / "job.json").write_text("{broken")
    assert store.expire(now) == 2
    assert store.get(old.id) is None and not store.folder(old.id).exists() and not stray.exists()
    assert store.get(fresh.id) is not None and store.get(queued.id) is not None
    JobStore(tmp_path, keep_s=60).load()
    assert "unreadable job record" in capsys.readouterr().err


def test_ids_are_checked_before_any_path_is_built(tmp_path):
    store = JobStore(tmp_path, keep_s=60)
    assert store.get("../../etc") is None and store.snapshot("x" * 32) is None
