"""Drive the web UI in headless Chromium (the Debian package) through Playwright's Python API.

Used by the browser test, and by hand for the README's screenshot:
    python -m tests.serving.ui_driver http://127.0.0.1:7860/ docs/serve_ui.png
"""

from __future__ import annotations

import sys
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AUDIO_READY = "() => { const a = document.querySelector('#result audio'); return !!(a && a.src); }"


def generate_in_browser(url: str, screenshot: Path, *, prompt: str, steps: int, duration_s: float,
                        timeout_s: float = 180.0) -> dict:
    """Open the UI, type `prompt`, set steps and duration, press Generate, wait for the player and the
    spectrogram, save a full-page screenshot, then submit an empty form and read the error shown.
    Returns what the page showed, and every request that left the server's origin (blocked)."""
    from playwright.sync_api import sync_playwright

    external: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(timeout_s * 1000)  # a loaded machine renders slowly
            page.route("**/*", lambda route: _local_only(route, url, external))
            page.goto(url, wait_until="networkidle", timeout=timeout_s * 1000)
            page.locator("#prompt textarea").fill(prompt)
            page.locator("#steps input").fill(str(steps))
            page.get_by_label("Duration (s)").fill(str(duration_s))
            page.locator("#generate").click()
            page.wait_for_function(AUDIO_READY, timeout=timeout_s * 1000)
            page.wait_for_selector("#spectrogram img[src]", timeout=timeout_s * 1000)
            shown = {
                "audio_src": page.eval_on_selector("#result audio", "a => a.src"),
                "spectrogram_src": page.eval_on_selector("#spectrogram img", "i => i.src"),
                "spectrogram_width": page.eval_on_selector("#spectrogram img", "i => i.naturalWidth"),
                "status": page.inner_text("#status"),
            }
            page.screenshot(path=str(screenshot), full_page=True)
            page.locator("#prompt textarea").fill("")
            page.locator("#generate").click()
            error = page.get_by_text("nothing to condition on").first
            error.wait_for(timeout=timeout_s * 1000)
            shown["error"] = error.inner_text()
        finally:
            browser.close()
    shown["external_requests"] = external
    return shown


def _local_only(route, origin: str, external: list[str]) -> None:
    """Let requests to the server through; block and record anything else (the page must work offline)."""
    if route.request.url.startswith(origin.rstrip("/")):
        route.continue_()
    else:
        external.append(route.request.url)
        route.abort()


if __name__ == "__main__":
    result = generate_in_browser(sys.argv[1], Path(sys.argv[2]), prompt="two knocks then a bell", steps=25,
                                 duration_s=10.0, timeout_s=900.0)
    print(result)
