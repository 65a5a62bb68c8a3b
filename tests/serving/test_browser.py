"""The web UI in a real browser: headless Chromium (Debian's package) driven by Playwright's Python API,
against a real server with the tiny model: type a prompt, press Generate, get a player and a spectrogram,
see a bad request's error in the page, with no request leaving the machine."""

from __future__ import annotations

import pytest

from tests.serving.server import SERVE_EXTRA, running
from tests.serving.ui_driver import CHROMIUM, generate_in_browser

pytest.importorskip("gradio", reason=SERVE_EXTRA)
pytest.importorskip("playwright", reason="needs playwright (pip install -e '.[serve]')")
if not CHROMIUM.is_file():
    pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install -y chromium)", allow_module_level=True)

from audiox.pipeline import AudioX
from audiox.serving.app import create_app
from audiox.serving.settings import ServeSettings

pytestmark = pytest.mark.slow  # starts a browser (~10 s)


def test_the_page_generates_and_shows_errors_offline(tiny_model_dir, tmp_path):
    pipe = AudioX.from_pretrained(tiny_model_dir)
    app = create_app(pipe, ServeSettings(results_dir=tmp_path / "serve"), model_name="tiny", ui=True)
    with running(app) as url:
        shown = generate_in_browser(url + "/", tmp_path / "ui.png", prompt="two knocks then a bell", steps=2,
                                    duration_s=2.0)
    assert shown["audio_src"] and "audio_0.wav" in shown["audio_src"]
    assert "spectrogram_0.png" in shown["spectrogram_src"] and shown["spectrogram_width"] > 0
    assert "Seed " in shown["status"] and "2 steps" in shown["status"]
    assert "nothing to condition on" in shown["error"] and "Traceback" not in shown["error"]
    assert shown["external_requests"] == []
    assert (tmp_path / "ui.png").stat().st_size > 10_000
