"""The seasonal forecasts benchmark (`scripts/bench seasonal`).

On a fresh PostgreSQL database (dropped afterwards) filled with
``ledger demo --orders N --years 3`` (or on ``--reuse URL``):

- the seasonal read model built from the log (catch-up from zero);
- the daily forecast job over every series of every dimension (product,
  family, customer, transport mode), each in every measure (orders,
  quantity, amount per currency), three runs, median; target: 200 series
  within 30 s;
- the 200 largest series alone, forecast the way the job does (the worst
  case: they are the ones with enough history for Holt-Winters);
- the backtest errors of the stored forecasts, per dimension and method;
- ``GET /reports/seasonal`` for one series (forecast on demand) through
  ``ledger serve`` over loopback, and the page of all series (stored
  forecasts) beside it; target: one series ≤ 200 ms.

Prints a table and writes bench/seasonal.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402

LEDGER = str(Path(sys.executable).with_name("ledger"))
LARGEST = 200
JOB_RUNS = 3


def main() -> int:
    args = _arguments()
    started = time.perf_counter()
    if args.reuse:
        results = run_on(args.reuse, args.requests)
    else:
        with bench._database(args.pg_admin) as url:
            demo = _demo(url, args.orders, args.years)
            results = {"demo": demo, **run_on(url, args.requests)}
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    _print(results)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--orders", type=int, default=1500, help="demo orders (default 1500: over 200 series)"
    )
    parser.add_argument("--years", type=int, default=3, help="demo years (default 3)")
    parser.add_argument("--requests", type=int, default=60, help="requests per HTTP figure")
    parser.add_argument("--reuse", metavar="URL", help="a database already holding demo data")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--out", default=str(ROOT / "bench" / "seasonal.json"))
    return parser.parse_args()


def _demo(url: str, orders: int, years: int) -> dict[str, Any]:
    env = {**os.environ, "LEDGER_DATABASE_URL": url}
    started = time.perf_counter()
    command = [LEDGER, "demo", "--orders", str(orders), "--years", str(years)]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # fmt: skip
    seconds = round(time.perf_counter() - started, 1)
    print(f"demo: {orders} orders over {years} years in {seconds} s", flush=True)
    return {"orders": orders, "years": years, "seconds": seconds}


def run_on(url: str, requests: int) -> dict[str, Any]:
    """Every figure on the demo data at ``url``."""
    results = _in_process(url)
    results["http"] = _http(url, requests, results["examples"])
    return results


# -- in process ---------------------------------------------------------------------


def _in_process(url: str) -> dict[str, Any]:
    from ledger.application import Ledger
    from ledger.projections.seasonal_report import run_forecasts
    from ledger.settings import Settings
    from ledger.worker import Worker

    ledger = Ledger(Settings(database_url=url, run_projections=False, pool_size=4))
    started = time.perf_counter()
    worker = Worker(ledger, only=["seasonal"]).start(schedule=False)
    try:
        worker.wait("seasonal", worker.source.head(), timeout=600)
        catch_up = round(time.perf_counter() - started, 2)
        print(f"seasonal read model: {worker.source.head()} events in {catch_up} s", flush=True)
        now = datetime.now(UTC)
        runs = [run_forecasts(worker.forecasts, worker.views["seasonal"], now)
                for _ in range(JOB_RUNS)]  # fmt: skip
        job = {**runs[-1], "seconds": statistics.median(r["seconds"] for r in runs),
               "runs": [r["seconds"] for r in runs]}  # fmt: skip
        print(f"forecast job: {job['series']} series in {job['seconds']} s", flush=True)
        return {
            "events": worker.source.head(), "catch_up_seconds": catch_up, "job": job,
            "largest": _largest(worker, now), "backtest": _backtests(worker),
            "examples": _examples(worker),
        }  # fmt: skip
    finally:
        worker.stop()
        ledger.close()


def _all_series(worker: Any) -> list[tuple[str, Any]]:
    from ledger.projections.seasonal_series import DIMENSIONS, demand_rows, tally

    rows = demand_rows(worker.views["seasonal"], "product")
    return [(by, series) for by in DIMENSIONS for series in tally(rows, by).values()]


def _largest(worker: Any, now: datetime) -> dict[str, Any]:
    """The ``LARGEST`` series with most orders, forecast as the job does."""
    from ledger.projections.seasonal_report import forecast_series
    from ledger.projections.seasonal_series import month_of

    chosen = sorted(_all_series(worker), key=lambda s: -s[1].total("orders"))[:LARGEST]
    methods: Counter[str] = Counter()
    started = time.perf_counter()
    for _, series in chosen:
        methods.update(f["method"] for f in forecast_series(series, month_of(now.date())))
    seconds = round(time.perf_counter() - started, 2)
    print(f"the {len(chosen)} largest series: {seconds} s", flush=True)
    return {"series": len(chosen), "seconds": seconds, "methods": dict(methods)}


def _backtests(worker: Any) -> dict[str, Any]:
    """Per dimension (its default measure) and method: how many series, and
    the median and quartiles of MASE and sMAPE over the held-out months."""
    from ledger.projections.seasonal_report import DEFAULT_MEASURE

    found: dict[str, dict[str, list[tuple[float | None, float]]]] = {}
    for row in worker.forecasts.select():
        measure = DEFAULT_MEASURE[row["by"]]
        for made in row["forecasts"]:
            if made["measure"] == measure and made["backtest"] is not None:
                bt = made["backtest"]
                found.setdefault(row["by"], {}).setdefault(made["method"], []).append(
                    (bt["mase"], bt["smape"])
                )
    return {
        by: {method: _spread(errors) for method, errors in methods.items()}
        for by, methods in found.items()
    }


def _spread(errors: list[tuple[float | None, float]]) -> dict[str, Any]:
    mase = sorted(m for m, _ in errors if m is not None)
    smape = sorted(s for _, s in errors)
    return {"series": len(errors), "mase": _quartiles(mase), "smape": _quartiles(smape)}


def _quartiles(values: list[float]) -> list[float] | None:
    if len(values) < 2:
        return [round(values[0], 3)] * 3 if values else None
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return [round(q1, 3), round(q2, 3), round(q3, 3)]


def _examples(worker: Any) -> dict[str, str]:
    """The largest series of each dimension: what the one-series requests ask for."""
    largest: dict[str, tuple[int, str]] = {}
    for by, series in _all_series(worker):
        if series.total("orders") > largest.get(by, (-1, ""))[0]:
            largest[by] = (series.total("orders"), series.key)
    return {by: key for by, (_, key) in largest.items()}


# -- over HTTP ------------------------------------------------------------------------


def _http(url: str, requests: int, examples: dict[str, str]) -> dict[str, Any]:
    """``ledger serve`` without runners (the read model is built): one series,
    forecast on demand, per dimension; and the stored page of all series."""
    port = bench._free_port()
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": url,
        "LEDGER_TOKENS": json.dumps({bench.TOKEN: {"role": "auditor", "name": "bench"}}),
    }
    server = subprocess.Popen([LEDGER, "serve", "--port", str(port), "--no-projections",
                               "--no-access-log", "--log-level", "warning"], env=env)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        bench._wait_healthy(base, server)
        headers = {"Authorization": f"Bearer {bench.TOKEN}"}
        cases = {f"one {by}": {"by": by, "series": key} for by, key in examples.items()}
        cases["all products (stored)"] = {"by": "product", "limit": "50"}
        cases["all customers (stored)"] = {"by": "customer", "limit": "50"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            return {name: _timed(client, params, requests) for name, params in cases.items()}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def _timed(client: httpx.Client, params: dict[str, str], requests: int) -> dict[str, Any]:
    client.get("/reports/seasonal", params=params).raise_for_status()  # warm
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/reports/seasonal", params=params)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    cuts = statistics.quantiles(times, n=100)
    return {"params": params, "requests": requests, "p50_ms": round(cuts[49], 1),
            "p99_ms": round(cuts[98], 1), "max_ms": round(max(times), 1)}  # fmt: skip


# -- the table ------------------------------------------------------------------------


def _print(results: dict[str, Any]) -> None:
    job, largest = results["job"], results["largest"]
    print()
    print(f"{'figure':<58} {'value':>12}  target")
    per_200 = job["seconds"] / job["series"] * 200 if job["series"] else 0.0
    print(
        f"{'forecast job, ' + str(job['series']) + ' series (median of 3)':<58} "
        f"{job['seconds']:>10.2f} s  (200 series at that rate: {per_200:.1f} s) ≤ 30 s"
    )
    print(f"{'the ' + str(largest['series']) + ' largest series alone':<58} "
          f"{largest['seconds']:>10.2f} s  ≤ 30 s")  # fmt: skip
    for name, figure in results["http"].items():
        target = "≤ 200 ms (p50)" if name.startswith("one") else ""
        label = f"GET /reports/seasonal {name} (p99 {figure['p99_ms']} ms)"
        print(f"{label:<58} {figure['p50_ms']:>9.1f} ms  {target}")
    print()
    print("methods (job):", json.dumps(job["methods"]))
    print("backtest errors, default measure, [q1, median, q3]:")
    for by, methods in results["backtest"].items():
        for method, spread in methods.items():
            print(f"  {by:<9} {method:<30} n={spread['series']:<5} "
                  f"MASE {spread['mase']}  sMAPE {spread['smape']}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
