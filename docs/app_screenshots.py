"""Take the app's screenshots in docs/ (``python docs/app_screenshots.py``).

Starts ``simsav app`` with the bundled ``rural-aco-5k`` scenario, drives Debian's Chromium
headless through each page and writes:

* ``app-compare.png`` — the comparison after a 2,000-sim run of the bundled scenario;
* ``app-compare-invalid.png`` — schema messages beside their fields;
* ``app-msr.png`` — MSR sizing (5,000 sims per size);
* ``app-settle.png`` — the settlement calculator on the worked example W1;
* ``app-claims.png`` — every spending model fitted to an uploaded claims file (the bundled
  synthetic commercial one), the best fit put in the form.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from simsav.app.server import free_port

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]


def _set(page, key: str, text: str, nth: int = 0) -> None:
    box = page.locator(f".{key} input, .{key} textarea").nth(nth)
    box.fill(text)
    box.press("Tab")


def main() -> None:
    """Take every screenshot."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "simsav.cli", "app",
                             str(ROOT / "scenarios" / "rural-aco-5k.toml"), "--port", str(port)],
                            stdout=subprocess.PIPE, text=True)
    while "serving" not in (proc.stdout.readline() or "serving"):
        pass
    url = f"http://127.0.0.1:{port}"
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
            page = b.new_page(viewport={"width": 1400, "height": 2150})
            page.goto(f"{url}/compare")
            _set(page, "f-sims", "2000")
            page.wait_for_timeout(500)
            page.locator(".run button").click()
            page.locator(".headline td.fig").first.wait_for(timeout=120_000)
            page.mouse.click(1380, 1000)
            page.wait_for_timeout(800)
            page.screenshot(path=DOCS / "app-compare.png")
            _set(page, "f-population-beneficiaries", "0.5")
            _set(page, "d-terms", "msr = 2\nmax_sharing_rate = 0.6", nth=0)
            page.locator(".err-design .msg").first.wait_for()
            page.mouse.click(1380, 1000)  # leave the fields
            page.wait_for_timeout(500)
            page.screenshot(path=DOCS / "app-compare-invalid.png")
            page.close()

            page = b.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/msr")
            _set(page, "f-sims", "5000")
            page.wait_for_timeout(500)
            page.locator(".run-msr button").click()
            page.locator(".msr-table table").wait_for(timeout=300_000)
            page.wait_for_timeout(800)
            page.screenshot(path=DOCS / "app-msr.png")
            page.close()

            page = b.new_page(viewport={"width": 1400, "height": 1250})
            page.goto(f"{url}/settle")
            page.locator('tr.out[data-field="earned_savings"]').wait_for()
            page.wait_for_timeout(500)
            page.screenshot(path=DOCS / "app-settle.png")
            page.close()

            page = b.new_page(viewport={"width": 1400, "height": 1650})
            page.goto(f"{url}/compare")
            page.wait_for_selector(".bk-input")
            page.locator(".claims-card .card-button").first.click()
            _set(page, "c-exposure", "member_months")
            page.locator(".load-claims input[type=file]").set_input_files(
                str(ROOT / "scenarios" / "claims" / "commercial-claims-7500.csv"))
            page.locator(".claims-fits table").wait_for(timeout=120_000)
            page.locator(".c-use button").click()
            page.wait_for_timeout(1000)
            page.screenshot(path=DOCS / "app-claims.png")
            b.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
