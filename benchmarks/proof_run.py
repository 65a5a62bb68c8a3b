"""What the proof scripts (`distill_own.py`, `lora_own.py`) share: a timestamped log line, and pinning the
model a run folder was made from so that a rerun with another model is refused instead of mixed in."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def pin_model(folder: Path, out: Path, role: str) -> None:
    """Record `folder`'s identity (path, sha256 of model.safetensors) in OUT/<role>.json; exit with a one-line
    error when OUT already holds a run of another model."""
    digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    path = out / f"{role}.json"
    if path.is_file():
        old = json.loads(path.read_text())
        if old["sha256"] != digest:
            sys.exit(f"error: {out} holds a run of another {role} ({old[role]}); pass a fresh --out")
        return
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({role: str(folder.resolve()), "sha256": digest}, indent=2))
