"""Every figure of issue 9's targets from one command: a table on stdout and the same as JSON.

Run: .venv/bin/python tests/perf/run.py [--cases 1000000] [--seed 42] [--reuse]
     [--database perf_scale] [--server postgresql://postgres@127.0.0.1:5432]
     [--only reads,queue,...] [--skip throughput,...] [--runs 200] [--explain]
     [--json tests/perf/out/figures.json]

1. Imports the selected benchmark modules (so the post-load steps they register run), then
   loads the national data set (tests/perf/datagen.py) into `--database`, or with `--reuse`
   keeps the one already there when it was made by the same generator, cases and seed,
   migrating it to the code's schema in place (a load of 1M cases takes minutes; keep the
   database between runs).
2. Runs each benchmark module's `measure(ctx)` (see BENCHMARKS) and collects its figures:
   median, p95, p99 where there is a distribution, a value otherwise, peak memory where it
   matters, the target and whether it was met. A benchmark that fails is reported as a
   failed row and the others still run.
3. Prints the table, the notes, and with `--explain` the EXPLAIN (ANALYZE, BUFFERS) plans of
   the hot queries (also written next to the JSON as plans.txt).

Figures are only as good as the machine is quiet: the header prints the load average before
and after; on a shared 2-core machine expect a spread of ±30% between runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.perf import datagen  # noqa: E402
from tests.perf.perfkit import (  # noqa: E402
    OUT_DIR,
    Figure,
    RunContext,
    ensure_database,
    format_table,
    load_average,
)

BENCHMARKS: tuple[tuple[str, str, str], ...] = (
    # (name for --only/--skip, module, what it measures)
    ("reads", "tests.perf.reads", "case by id and code, nearby, public feed"),
    ("queue", "tests.perf.case_queue", "staff queue page, queue search, outbox dispatch"),
    ("sweep", "tests.perf.sla_sweep", "SLA sweep with 1% due and with nothing due"),
    ("open311", "tests.perf.open311_requests", "Open311 GET requests with a date window"),
    ("stats", "tests.perf.stats", "statistics summary with all breakdowns"),
    ("submit", "tests.perf.report_submit", "POST /reports with one 12-MP photo"),
    ("throughput", "tests.perf.throughput", "req/s of GET one case vs bare Flask, gunicorn"),
    ("memory", "tests.perf.memory", "API worker RSS over 10,000 mixed requests"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="perf_scale")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the data set already in --database when it matches")
    parser.add_argument("--runs", type=int, default=200, help="timed runs per figure")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--skip", default="", help="comma-separated benchmark names")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN (ANALYZE, BUFFERS) of the hot queries")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "figures.json")
    args = parser.parse_args(argv)
    known = {name for name, _, _ in BENCHMARKS}
    for option in ("only", "skip"):
        names = {n.strip() for n in getattr(args, option).split(",") if n.strip()}
        unknown = names - known
        if unknown:
            parser.error(f"--{option}: unknown {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(n for n, _, _ in BENCHMARKS)}")
        setattr(args, option, names)
    return args


def context(args: argparse.Namespace) -> RunContext:
    """Load or reuse the data set and wrap it for the benchmarks."""
    ensure_database(args.server, args.database)
    dsn = f"{args.server}/{args.database}"
    dataset = datagen.ensure(dsn, args.cases, args.seed, reuse=args.reuse)
    return RunContext(dataset=dataset, server=args.server, database=args.database,
                      runs=args.runs, explain=args.explain)


def import_benchmarks(selected: list[tuple[str, str, str]]) -> dict[str, object]:
    """The selected modules, imported before the data set is loaded so that post-load steps
    they register (`@datagen.post_load_step`) run with the load; a module that fails to
    import is reported by `collect`."""
    modules: dict[str, object] = {}
    for name, module_name, _ in selected:
        try:
            modules[name] = importlib.import_module(module_name)
        except Exception as exc:  # reported as the benchmark's failure row
            modules[name] = exc
    return modules


def collect(ctx: RunContext, selected: list[tuple[str, str, str]],
            modules: dict[str, object]) -> list[Figure]:
    """Every selected benchmark's figures; a failure becomes a row saying so."""
    figures: list[Figure] = []
    for name, module_name, what in selected:
        started = time.perf_counter()
        print(f"\n== {name}: {what}", flush=True)
        try:
            module = modules[name]
            if isinstance(module, Exception):
                raise module
            measure: Callable[[RunContext], list[Figure]] | None = getattr(
                module, "measure", None)
            if measure is None:
                raise RuntimeError(f"{module_name} has no measure(ctx)")
            found = measure(ctx)
            for figure in found:
                figure.source = figure.source or name
            figures += found
        except Exception as exc:  # a broken benchmark must not hide the others' figures
            traceback.print_exc()
            figures.append(Figure(name=f"{name}: FAILED", unit="", how=type(exc).__name__,
                                  note=str(exc).splitlines()[0][:200] if str(exc) else "",
                                  source=name))
        print(f"   {time.perf_counter() - started:.1f} s", flush=True)
    return figures


def header(ctx: RunContext) -> list[str]:
    import psycopg

    with psycopg.connect(ctx.dsn) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                    for name in ("shared_buffers", "work_mem")}
    loaded = ("reused" if ctx.dataset.load_seconds is None
              else f"loaded in {ctx.dataset.load_seconds:.0f} s")
    return [
        f"data set: {ctx.dataset.cases:,} cases, seed {ctx.dataset.seed}, as of "
        f"{ctx.as_of.isoformat()} ({loaded}); database {ctx.database}",
        f"PostgreSQL {version} (shared_buffers {settings.get('shared_buffers')}, work_mem "
        f"{settings.get('work_mem')}); Python {sys.version.split()[0]}; "
        f"{os.cpu_count()} CPUs",
    ]


def write(path: Path, ctx: RunContext, figures: list[Figure], lines: list[str],
          before: str, after: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "context": lines, "load_before": before, "load_after": after,
        "dataset": {"cases": ctx.dataset.cases, "seed": ctx.dataset.seed,
                    "as_of": ctx.as_of.isoformat(), "load_seconds": ctx.dataset.load_seconds,
                    "counts": ctx.dataset.meta.get("counts", {})},
        "figures": [f.as_dict() for f in figures],
    }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if ctx.plans:
        (path.parent / "plans.txt").write_text(
            "\n\n".join(f"== {label}\n{text}" for label, text in ctx.plans) + "\n",
            encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    selected = [b for b in BENCHMARKS
                if (not args.only or b[0] in args.only) and b[0] not in args.skip]
    modules = import_benchmarks(selected)
    ctx = context(args)
    before = load_average()
    figures = collect(ctx, selected, modules)
    after = load_average()
    lines = header(ctx)
    print("\n" + "\n".join(lines))
    print(f"{before} before, {after} after\n")
    print(format_table(figures))
    if ctx.plans:
        print("\n" + "\n\n".join(f"== EXPLAIN {label}\n{text}" for label, text in ctx.plans))
    write(args.json, ctx, figures, lines, before, after)
    print(f"\nJSON: {args.json}" + (f"; plans: {args.json.parent / 'plans.txt'}"
                                     if ctx.plans else ""))


def standalone(measure: Callable[[RunContext], list[Figure]]) -> None:
    """Run one benchmark module on its own with the runner's options (no JSON written)."""
    args = parse_args()
    ctx = context(args)
    figures = measure(ctx)
    print("\n" + "\n".join(header(ctx)) + "\n" + load_average() + "\n")
    print(format_table(figures))
    for label, text in ctx.plans:
        print(f"\n== EXPLAIN {label}\n{text}")


if __name__ == "__main__":
    main()
