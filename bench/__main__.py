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
from pathlib import Path

import django

HERE = Path(__file__).resolve().parent


def main(selected):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rally.settings")
    django.setup()
    selected = {name.replace("-", "_") for name in selected}
    if "perf_suite" in selected:
        os.environ["BENCH_SUITE"] = "1"
    results = {}
    names = sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("perf_"))
    for name in names:
        if selected and name not in selected:
            continue
        module = importlib.import_module(f"bench.{name}")
        for figure_id, figure in module.run().items():
            results[figure_id] = figure
            mark = "ok  " if figure["ok"] else "MISS"
            print(f"{mark} {figure_id:26} {figure['value']:>8} {figure['unit']:<22} "
                  f"target {figure['target']}", flush=True)
    previous = {}
    output = HERE / "results.json"
    if output.exists():
        previous = json.loads(output.read_text())
    output.write_text(json.dumps({**previous, **results}, indent=2, sort_keys=True) + "\n")
    return 0 if all(figure["ok"] for figure in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
