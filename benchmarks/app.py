"""What a user of ``simsav app`` waits for: the start, and a comparison's result.

Usage::

    python benchmarks/app.py            # a table
    python benchmarks/app.py --json     # JSON on stdout

* **start**: from launching ``simsav app`` to the comparison page answering (HTTP 200),
  best of ``--repeat`` fresh starts; beside it ``python -c pass`` and ``import panel``
  in the same rounds, as ratios (the machines are shared and noisy);
* **first run ready**: from launching to the fork server having loaded the kernels
  (the first Run pays no import);
* **time to result**: Debian's Chromium (headless, Playwright) fills in 5,000 lives and
  2,000 sims, presses Run, and waits for the summary table; best of ``--repeat`` runs,
  with the same run by ``ss.simulate`` + ``ss.summarize`` in this process beside it.

Targets from the issue: start under 5 s, a 5,000-life 2,000-sim comparison shown under
10 s on the 2-core development machine. Measurements, never assertions.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]


def _start(port: int) -> tuple[subprocess.Popen, float, float]:
    """Launch the app; return it, seconds to HTTP 200 and to the 'serving' line."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "simsav.cli", "app", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    while "serving" not in (proc.stdout.readline() or "serving"):
        pass
    serving = time.perf_counter() - t0
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/compare", timeout=30) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.02)
    return proc, time.perf_counter() - t0, serving


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    proc.stdout.close()


def _best(cmd: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t0)
    return best


def _time_to_result(url: str, repeat: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        for i in range(repeat):
            page = browser.new_page()
            page.goto(f"{url}/compare")
            for key, text in (("population-beneficiaries", "5000"), ("sims", "2000"),
                              ("seed", str(100 + i))):
                box = page.locator(f".f-{key} input")
                box.fill(text)
                box.press("Tab")
            page.wait_for_function(
                "() => !document.querySelector('.run button')?.disabled")
            page.wait_for_timeout(300)  # the form's last change reaches the server
            t0 = time.perf_counter()
            page.locator(".run button").click()
            page.locator(".headline td.fig").first.wait_for(timeout=120_000)
            out.append(time.perf_counter() - t0)
            page.close()
        browser.close()
    return out


def _in_process(repeat: int) -> float:
    import simsav as ss
    from simsav.app.compare import DEFAULT_SCENARIO

    data = {**DEFAULT_SCENARIO, "sims": 2000, "population": {"beneficiaries": 5000}}
    best = float("inf")
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        ss.summarize(ss.simulate(ss.parse_scenario({**data, "seed": 100 + i})), frame=True)
        if i:
            best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from simsav.app.server import free_port

    res: dict[str, float] = {}
    starts, servings = [], []
    for _ in range(args.repeat):
        proc, t, s = _start(free_port())
        starts.append(t)
        servings.append(s)
        _stop(proc)
    res["start_s"] = min(starts)
    res["python_s"] = _best([sys.executable, "-c", "pass"], args.repeat)
    res["import_panel_s"] = _best([sys.executable, "-c", "import panel"], args.repeat)
    res["start_over_import_panel"] = res["start_s"] / res["import_panel_s"]
    port = free_port()
    proc, _, _ = _start(port)
    try:
        t0 = time.perf_counter()
        runs = _time_to_result(f"http://127.0.0.1:{port}", args.repeat)
        res["first_result_s"] = runs[0]
        res["time_to_result_s"] = min(runs)
        res["browser_session_s"] = time.perf_counter() - t0
    finally:
        _stop(proc)
    res["simulate_in_process_s"] = _in_process(args.repeat)
    res["result_over_simulate"] = res["time_to_result_s"] / res["simulate_in_process_s"]
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print("simsav app (5,000 lives, 2,000 sims, 3 designs), best of "
          f"{args.repeat}; targets: start < 5 s, result < 10 s")
    rows = [("start (launch → page answers)", "start_s"),
            ("  python -c pass", "python_s"), ("  import panel", "import_panel_s"),
            ("  start / import panel", "start_over_import_panel"),
            ("time to result (Run → table), first", "first_result_s"),
            ("time to result, best", "time_to_result_s"),
            ("  simulate + summarize in-process", "simulate_in_process_s"),
            ("  result / in-process", "result_over_simulate")]
    for label, key in rows:
        unit = "" if "over" in key else " s"
        print(f"{label:<40} {res[key]:8.2f}{unit}")


if __name__ == "__main__":
    main()
