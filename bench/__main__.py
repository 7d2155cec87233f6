"""Run every benchmark (`make bench`), print each figure against its target, and write
bench/results.json as {"id": {"value", "target", "unit", "ok"}}.

Each module `bench/perf_*.py` has `run() -> dict[id, {"value", "target", "unit", "ok"}]`.
Benchmarks measure; tests never time anything.

`python -m bench` runs them all; `python -m bench perf-pages perf_payouts` only those named
(either spelling). Running some updates their rows of results.json and keeps the others.
perf-suite (the whole `make test`) runs only with BENCH_SUITE=1 or when named.
"""

import importlib
import json
import os
import pkgutil
import sys
import traceback
from pathlib import Path

import django

HERE = Path(__file__).resolve().parent


def main(selected):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rally.settings")
    django.setup()
    selected = {name.replace("-", "_") for name in selected}
    if "perf_suite" in selected:
        os.environ["BENCH_SUITE"] = "1"
    names = sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("perf_"))
    ok = True
    for name in names:
        if selected and name not in selected:
            continue
        try:
            figures = importlib.import_module(f"bench.{name}").run()
        except Exception:  # one broken bench must not lose the others' figures
            traceback.print_exc()
            print(f"FAIL {name}: see the error above", flush=True)
            ok = False
            continue
        for figure_id, figure in figures.items():
            ok = ok and figure["ok"]
            mark = "ok  " if figure["ok"] else "MISS"
            print(f"{mark} {figure_id:26} {figure['value']:>8} {figure['unit']:<22} "
                  f"target {figure['target']}", flush=True)
        _write(figures)
    return 0 if ok else 1


def _write(figures):
    """Merge figures into results.json by id (the other ids keep their last figures)."""
    output = HERE / "results.json"
    previous = json.loads(output.read_text()) if output.exists() else {}
    output.write_text(json.dumps({**previous, **figures}, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
