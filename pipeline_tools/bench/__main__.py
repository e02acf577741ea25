"""python -m pipeline_tools.bench [--duration S] [--size WxH] [--big-mb N] [--skip-gemini] [--skip-estimate]
[--scale 1000,10000 | --skip-scale] [--plan-objects N | --skip-plan] [--only-scale] [--out bench-results.json]

Prints metric / measured / target / PASS-FAIL, writes the results as JSON, exits 1 when a target fails."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from pipeline_tools.bench.estimate import NightSize
from pipeline_tools.bench.run import BenchConfig, Row, format_table, run_bench
from pipeline_tools.bench.scale import DEFAULT_SIZES, PLAN_OBJECTS, ScaleConfig, parse_sizes
from pipeline_tools.bench.sources import SourceSpec, default_cache_dir


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m pipeline_tools.bench", description=__doc__)
    p.add_argument("--duration", type=float, default=600.0, help="seconds of the generated H.264 source")
    p.add_argument("--size", default="1920x1080", help="WxH of the generated H.264 source")
    p.add_argument(
        "--big-mb", type=float, default=2000.0, help="size of the source the memory peak is measured on"
    )
    p.add_argument("--naive-seconds", type=float, default=60.0, help="span the naive re-encode is timed on")
    p.add_argument(
        "--cache-dir", type=Path, default=default_cache_dir(), help="where generated sources are kept"
    )
    p.add_argument("--repeat", type=int, default=1, help="best of N runs for the decode floor and prepares")
    p.add_argument("--skip-gemini", action="store_true", help="skip the Gemini-stage benchmark (~3 min)")
    p.add_argument(
        "--skip-estimate", action="store_true", help="skip the estimate-vs-bill benchmark (~1.5 min)"
    )
    p.add_argument(
        "--estimate-night",
        type=NightSize.parse,
        default=NightSize(),
        metavar="IMAGES,VIDEOS,AUDIOS",
        help="files per night of the estimate benchmark (default 24,6,4)",
    )
    p.add_argument(
        "--scale",
        type=parse_sizes,
        default=parse_sizes(os.environ.get("BENCH_SCALE") or ",".join(map(str, DEFAULT_SIZES))),
        metavar="N[,N...]",
        help="objects per night of the scale benchmark (env BENCH_SCALE; default 1000,10000)",
    )
    p.add_argument("--skip-scale", action="store_true", help="skip the scale benchmark (nights of N objects)")
    p.add_argument(
        "--plan-objects",
        type=int,
        default=PLAN_OBJECTS,
        help="tiny objects listed for the dry-run plan benchmark (default 100000)",
    )
    p.add_argument("--skip-plan", action="store_true", help="skip the dry-run plan benchmark")
    p.add_argument("--only-scale", action="store_true", help="run only the scale and dry-run plan benchmarks")
    p.add_argument(
        "--profile-dir", type=Path, default=None, help="cProfile each scale / plan job's main process here"
    )
    p.add_argument("--out", type=Path, default=Path("bench-results.json"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    cfg = BenchConfig(
        source=SourceSpec(duration_s=args.duration, width=width, height=height),
        big_source_bytes=int(args.big_mb * 1e6),
        big_source_size=(1920, 1080) if args.big_mb >= 100 else (320, 180),
        naive_reencode_s=args.naive_seconds,
        cache_dir=args.cache_dir,
        repeat=args.repeat,
    )
    started = time.perf_counter()
    log = lambda msg: print(f"[bench] {msg}", flush=True)  # noqa: E731
    rows: list[Row] = []
    details: dict[str, object] = {}
    if not args.only_scale:
        rows, details = run_bench(cfg, log=log)
    if not args.skip_gemini and not args.only_scale:
        from pipeline_tools.bench.gemini import run_gemini_bench

        rows += run_gemini_bench(log)
    if not args.skip_estimate and not args.only_scale:
        from pipeline_tools.bench.estimate import run_estimate_bench

        estimate_rows, details["estimate"] = run_estimate_bench(log, args.estimate_night)
        rows += estimate_rows
    if not args.skip_scale or not args.skip_plan:
        from pipeline_tools.bench.scale import run_scale_bench

        scale = ScaleConfig(
            sizes=() if args.skip_scale else args.scale,
            plan_objects=None if args.skip_plan else args.plan_objects,
            cache_dir=args.cache_dir,
            profile_dir=args.profile_dir,
        )
        scale_rows, details["scale"] = run_scale_bench(scale, log)
        rows += scale_rows
    table = format_table(rows)
    print()
    print(table)
    failed = [r.metric for r in rows if r.passed is False]
    doc = {
        "rows": [
            {
                "metric": r.metric,
                "measured": r.measured,
                "unit": r.unit,
                "target": r.target,
                "at_most": r.at_most,
                "tolerance": r.tolerance,
                "passed": r.passed,
                "note": r.note,
            }  # fmt: skip
            for r in rows
        ],
        "failed": failed,
        "details": details,
        "bench_seconds": round(time.perf_counter() - started, 1),
    }
    args.out.write_text(json.dumps(doc, indent=2, default=str))
    print(f"\n{len(failed)} target(s) failed; results in {args.out} ({doc['bench_seconds']:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
