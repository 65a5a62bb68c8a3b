"""`audiox serve`: one-line errors before the model loads, and the verb serving the API end to end."""

from __future__ import annotations

import importlib.util
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from audiox.cli.main import main


def test_a_missing_serve_extra_is_one_line_naming_it(monkeypatch, capsys, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a))
    assert main(["serve", "--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == 'ConfigError: audiox serve needs gradio: install the serve extra with pip install -e ".[serve]"'


def test_bad_settings_are_one_line(capsys, tmp_path):
    pytest.importorskip("fastapi", reason="needs the serve extra")
    pytest.importorskip("gradio", reason="needs the serve extra")
    assert main(["serve", "--queue-size", "0", "--results-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == "InputError: --queue-size must be >= 1, got 0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, data: dict | None = None) -> dict:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_the_verb_serves_the_api_and_stops_cleanly(tiny_model_dir, tmp_path):
    pytest.importorskip("uvicorn", reason="needs the serve extra")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "audiox.cli.main", "serve", "--model", str(tiny_model_dir), "--no-ui",
         "--port", str(port), "--results-dir", str(tmp_path)], stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                assert get_json(f"{base}/v1/health")["status"] == "ok"
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.5)
        job = get_json(f"{base}/v1/jobs", {"text": "a bell", "steps": 2, "duration_s": 1})
        while (status := get_json(f"{base}/v1/jobs/{job['id']}"))["state"] not in ("done", "failed"):
            time.sleep(0.1)
        assert status["state"] == "done"
        with urllib.request.urlopen(f"{base}/v1/jobs/{job['id']}/audio", timeout=30) as response:
            assert response.read(4) == b"RIFF"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err
