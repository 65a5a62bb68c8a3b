"""What an `audiox serve` process is allowed to do: queue length, result lifetime, request limits."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from audiox.errors import InputError

SERVE_EXTRA_HINT = 'pip install -e ".[serve]"'


@dataclass(frozen=True, kw_only=True)
class ServeSettings:
    """results_dir: where job folders live (uploads, WAVs, spectrograms, muxed videos, job.json);
    queue_size: jobs waiting (not counting the running one) before new ones get 429;
    workers: threads that write a finished job's files while the model runs the next job;
    keep_s: how long a finished job's files are kept (also across restarts);
    max_upload_bytes: largest request body / uploaded file; the rest bound what one job may ask for."""

    results_dir: Path
    queue_size: int = 16
    workers: int = 1
    keep_s: float = 24 * 3600.0
    max_upload_bytes: int = 100 * 2**20
    max_duration_s: float = 60.0
    max_batch_size: int = 8
    max_steps: int = 1000

    def __post_init__(self) -> None:
        checks = [
            (self.queue_size >= 1, f"--queue-size must be >= 1, got {self.queue_size}"),
            (self.workers >= 1, f"--workers must be >= 1, got {self.workers}"),
            (self.keep_s > 0, f"--keep-hours must be > 0, got {self.keep_s / 3600:g}"),
            (self.max_upload_bytes > 0, f"--max-upload-mb must be > 0, got {self.max_upload_bytes / 2**20:g}"),
            (self.max_duration_s > 0, f"--max-duration must be > 0, got {self.max_duration_s}"),
            (self.max_batch_size >= 1, f"--max-batch must be >= 1, got {self.max_batch_size}"),
            (self.max_steps >= 1, f"--max-steps must be >= 1, got {self.max_steps}"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(message)


def default_results_dir() -> Path:
    """$XDG_CACHE_HOME/audiox/serve, else ~/.cache/audiox/serve."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "audiox" / "serve"
