"""perf-suite: wall time of `make test` (the whole suite, as CI runs it) on this machine.

It takes minutes and the machine's every core, so it runs only when asked:
`BENCH_SUITE=1 make bench`, or `python -m bench perf-suite`. Otherwise it prints that it
was skipped and keeps the last figure in bench/results.json.
"""

import os
import subprocess
import time
from pathlib import Path

TARGET_SECONDS = 300
ENABLED_ENV = "BENCH_SUITE"


def run():
    if os.environ.get(ENABLED_ENV) != "1":
        print(f"skip {'perf-suite':26} skipped (run with {ENABLED_ENV}=1)", flush=True)
        return {}
    root = Path(__file__).resolve().parent.parent
    started = time.perf_counter()
    done = subprocess.run(["make", "test"], cwd=root, check=False, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - started
    passed = done.returncode == 0
    if not passed:
        print(done.stdout[-2000:], done.stderr[-2000:], flush=True)
    return {"perf-suite": {
        "value": round(seconds), "unit": "s (make test)" + ("" if passed else ", FAILED"),
        "target": f"<= {TARGET_SECONDS} (2 cores)", "ok": passed and seconds <= TARGET_SECONDS}}
