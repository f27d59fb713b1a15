"""report.html rendered in headless Chromium: no console errors, no network, every plot drawn.

Needs Debian's ``chromium`` (``make test`` installs it where it can). Without it the test is
skipped, unless LIFELONG_REQUIRE_BROWSER=1 (set by CI) turns the skip into a failure.
"""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from synthetic_run import AGENTS, EVAL_TASKS, run_dir_fixture  # noqa: F401 (run_dir)

from lifelong.report import write_report

playwright = pytest.importorskip("playwright.sync_api")

# Chromium flags for a closed network and a root user (see the machine notes in docs/design.md).
_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Per figure: the SVG elements that exist only once its traces are drawn.
_DRAWN = {
    "figure-0": ".scatterlayer .trace path.js-line",
    "figure-1": ".heatmaplayer image",
    "figure-2": ".barlayer .point path",
    "figure-3": ".scatterlayer .trace path.js-line",
}


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's chromium is not installed (make test installs it with apt-get)"
        if os.environ.get("LIFELONG_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def _visible(page, figure: str) -> list[bool]:
    return page.evaluate(f"document.getElementById('{figure}').data.map(t => t.visible !== false)")


def test_report_renders_in_headless_chromium(run_dir: Path, tmp_path: Path):
    report = write_report(run_dir).resolve()
    problems: list[str] = []
    requests: list[str] = []
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on(
            "console",
            lambda m: (
                problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri(), wait_until="load")
        for figure, selector in _DRAWN.items():
            page.wait_for_selector(f"#{figure} {selector}", state="attached", timeout=20_000)

        # Every figure holds drawn traces: lines with path data, heatmap images, bars.
        drawn = {
            figure: page.eval_on_selector_all(
                f"#{figure} {selector}",
                "els => els.filter(e => e.tagName === 'image' ? e.getAttribute('href')"
                " : (e.getAttribute('d') || '').length > 10).length",
            )
            for figure, selector in _DRAWN.items()
        }
        assert drawn["figure-0"] == 2 * len(EVAL_TASKS)  # first agent's seed bands and means
        assert drawn["figure-1"] == 1  # first agent's heatmap
        assert drawn["figure-2"] == 4 * len(AGENTS)  # four metrics, one bar per agent
        assert drawn["figure-3"] == 1  # only the first agent logged diagnostics

        # The agent menu switches the score curves to the second agent's traces.
        before = _visible(page, "figure-0")
        page.click("#figure-0 .updatemenu-header-group")
        page.click("#figure-0 .updatemenu-dropdown-button >> nth=1")
        after = _visible(page, "figure-0")
        per_agent = 2 * len(EVAL_TASKS)  # band + mean line per eval task
        assert before == [True] * per_agent + [False] * per_agent
        assert after == [False] * per_agent + [True] * per_agent
        page.click("#figure-0 .updatemenu-header-group")
        page.click("#figure-0 .updatemenu-dropdown-button >> nth=0")

        screenshot = tmp_path / "report.png"
        page.screenshot(path=str(screenshot), full_page=True)
        boxes = {f: page.locator(f"#{f} .main-svg").first.bounding_box() for f in _DRAWN}
        browser.close()

    assert problems == []
    assert requests == [report.as_uri()]
    # The screenshot shows the plots: each figure's area holds many colours and ink, not a blank
    # or half-loaded box.
    image = np.asarray(Image.open(screenshot).convert("RGB"))
    for figure, box in boxes.items():
        x, y, w, h = (int(round(v)) for v in (box["x"], box["y"], box["width"], box["height"]))
        assert w > 500 and h > 250, (figure, box)
        crop = image[y : y + h, x : x + w].reshape(-1, 3)
        ink = np.mean(np.any(crop < 235, axis=1))
        colours = len(np.unique(crop // 16, axis=0))
        assert ink > 0.03 and colours > 40, (figure, ink, colours)
