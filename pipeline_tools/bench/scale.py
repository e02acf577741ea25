"""The scale benchmark (#12 part 7): nights of N small distinct objects through the whole job on the
embedded services, each against a floor measured in the same run, and a dry-run plan over a listing of
100,000 tiny objects.

Per size N (`pipeline_tools.samples.scale`): the floor first, then the job.
- floor: what the job does to each object and nothing else, on local files, in a pool of
  os.cpu_count() processes: probe (ffprobe or Pillow, and the motion profile of a video), the
  decodability check, the chunk plan and the one ffmpeg pass / image resize, through the library's own
  functions (pipeline.media.probe, verify_decodable, plan_for_run, prepare_media). No S3, no state, no
  Gemini.
- job: `pipeline_tools.bench.scale_job` (run_job as `media-pipeline run` calls it) in its own process,
  batch mode, transport=url, against moto's S3 server and the emulator in this process. Measured from
  outside it: wall time; CPU (user + sys) of the job and every process under it (RUSAGE_CHILDREN; this
  process is made a child subreaper so pool workers orphaned at exit are reaped here and counted); the
  summed RSS of its process tree, polled; S3 requests as the S3 server saw them (`s3_log`); Gemini
  requests, batch jobs, Files API uploads and each batch request's bytes as the emulator received them
  (its stats and request log); the largest write under `_staging/runs/` (at the S3 server, and the
  largest object left there after the run).
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pipeline_tools.bench.run import Row, _tree_rss_mb
from pipeline_tools.bench.s3_log import S3RequestLog
from pipeline_tools.bench.sources import default_cache_dir
from pipeline_tools.samples.scale import ScaleNight, generate_scale_night, tiny_png

SOURCE = "s3://bench-scale-inbox/incoming"
DEST = "s3://bench-scale-results/gemini"
SCALE_DATE = date(2026, 11, 20)
PLAN_DATE = date(2026, 11, 21)
DEFAULT_SIZES = (1000, 10000)
PLAN_OBJECTS = 100_000
# Targets of issue #12 (the job / floor ratio and linearity are stated for 10,000 against 1,000).
JOB_FLOOR_TARGET, JOB_FLOOR_FROM = 2.0, 10_000
LINEAR_TARGET = 1.1
PEAK_RSS_TARGET_MB = 1024.0
STATE_WRITE_TARGET_MB = 5.0
PAYLOAD_TARGET_BYTES = 2048
_PR_SET_CHILD_SUBREAPER = 36


@dataclass
class ScaleConfig:
    sizes: tuple[int, ...] = DEFAULT_SIZES
    plan_objects: int | None = PLAN_OBJECTS  # None: no dry-run plan benchmark
    cache_dir: Path = field(default_factory=default_cache_dir)
    batch_delay_s: float = 1.0  # the emulator's time from create to a finished batch job
    batch_poll_s: float = 1.0  # the job's batch polling (the default 10 s would only add waits)
    http_upload_sample: int = 500  # tiny objects PUT over HTTP to time an upload of the whole listing
    long_videos: bool = True  # False: no multi-chunk video (quick tests)
    profile_dir: Path | None = None  # cProfile each job's main process into this directory


def parse_sizes(text: str) -> tuple[int, ...]:
    """ "1000,10000" -> (1000, 10000); "1,000" is read as 1000 only when written "1_000"."""
    return tuple(int(v.strip().replace("_", "")) for v in text.split(",") if v.strip())


# ---------------------------------------------------------------------------------- process accounting
def _become_subreaper() -> bool:
    """Orphaned descendants (a pool's workers once its forkserver has gone) are re-parented to this
    process, so their CPU time reaches RUSAGE_CHILDREN when they are reaped. Linux only."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _own_children() -> set[int]:
    pids: set[int] = set()
    try:
        for task in Path("/proc/self/task").iterdir():
            pids.update(int(c) for c in (task / "children").read_text().split())
    except (OSError, ValueError):
        pass
    return pids


def _reap_orphans(keep: set[int], grace_s: float = 10.0) -> int:
    """Wait for the children that appeared during the job (orphans re-parented here) and are not in
    `keep` (this process's own, such as a resource tracker); how many were reaped."""
    reaped, deadline = 0, time.monotonic() + grace_s
    while time.monotonic() < deadline:
        left = _own_children() - keep
        if not left:
            break
        for pid in left:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            reaped += done == pid
        time.sleep(0.05)
    return reaped


def _children_cpu_s() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


@dataclass
class JobRun:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    result: dict[str, Any]


def run_job_process(
    env: dict[str, str],
    dt: date,
    *,
    dry_run: bool,
    work: Path,
    poll_s: float = 0.1,
    profile: Path | None = None,
) -> JobRun:
    """The job in its own process: wall, CPU of its tree, polled peak RSS of its tree, its result.
    With `profile`, the job's main process runs under cProfile (pstats written there)."""
    out = work / f"job-{dt.isoformat()}{'-dry' if dry_run else ''}.json"
    profiler = ["-m", "cProfile", "-o", str(profile)] if profile else []
    cmd = [sys.executable, *profiler, "-m", "pipeline_tools.bench.scale_job", "--date", dt.isoformat()]
    cmd += ["--out", str(out)]
    keep = _own_children()
    cpu0, start = _children_cpu_s(), time.perf_counter()
    proc = subprocess.Popen([*cmd, *(["--dry-run"] if dry_run else [])], env=env)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_mb(proc.pid))
        time.sleep(poll_s)
    wall = time.perf_counter() - start
    _reap_orphans(keep)
    cpu = _children_cpu_s() - cpu0
    if proc.returncode != 0:
        raise RuntimeError(f"the job exited {proc.returncode} (see its output above)")
    return JobRun(wall, cpu, peak, json.loads(out.read_text()))


# ------------------------------------------------------------------------------------------- the floor
def _floor_one(path: str, scratch: str) -> int:
    """Probe, check, plan and prepare one local file as a run does; returns its chunk count."""
    from pipeline.config import Settings
    from pipeline.media import probe, verify_decodable
    from pipeline.plan import plan_for_run
    from pipeline.prepare import prepare_media
    from pipeline.tasks import DESCRIBE

    uri = Path(path).as_uri()
    result = verify_decodable(path, probe(path, source=uri), source=uri)
    plan = plan_for_run(uri, result, Settings(), DESCRIBE)
    out = Path(tempfile.mkdtemp(dir=scratch))
    try:
        return len(prepare_media(path, plan, result, out))
    finally:
        shutil.rmtree(out, ignore_errors=True)


@dataclass
class Floor:
    wall_s: float
    cpu_s: float
    workers: int
    chunks: int


def measure_floor(night: ScaleNight, workers: int | None = None) -> Floor:
    """The night's media work alone, in a pool of os.cpu_count() fresh (spawned) processes."""
    workers = workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="gmp-bench-floor-") as scratch:
        paths = [str(p) for p in night.paths]
        cpu0, start = _children_cpu_s(), time.perf_counter()
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            chunks = sum(pool.map(_floor_one, paths, [scratch] * len(paths), chunksize=8))
        wall = time.perf_counter() - start
        return Floor(wall, _children_cpu_s() - cpu0, workers, chunks)


# ----------------------------------------------------------------------------------- emulator evidence
_SIGNED_QUERY = re.compile(r"(X-Amz-[A-Za-z-]+)=([^&\"]*)")


def _batch_items(body: Any) -> list[Any]:
    batch = body.get("batch") if isinstance(body, dict) else None
    src = (batch or {}).get("inputConfig") or (batch or {}).get("input_config") or {}
    requests = src.get("requests") or {}
    items = requests.get("requests") if isinstance(requests, dict) else None
    return items if isinstance(items, list) else []


def emulator_evidence(stats: dict[str, Any], recorded: list[dict[str, Any]]) -> dict[str, Any]:
    """Files API uploads (by what was uploaded) and the bytes of each inline batch request, as received."""
    sizes: list[int] = []
    largest = ""
    inline_data = 0
    uploads: dict[str, int] = {}
    for entry in recorded:
        path = str(entry.get("path", ""))
        if path.endswith(":batchGenerateContent"):
            for item in _batch_items(entry.get("body")):
                text = json.dumps(item, separators=(",", ":"))
                sizes.append(len(text.encode()))
                largest = text if len(text) > len(largest) else largest
                inline_data += '"inlineData"' in text or '"inline_data"' in text
        elif "/upload/" in path and entry.get("method") == "POST" and "headers" in entry:
            kind = str(entry["headers"].get("x-goog-upload-header-content-type", "?"))
            uploads[kind] = uploads.get(kind, 0) + 1
    requests = stats.get("requests", {})
    return {
        "gemini_requests": int(stats.get("requests_total", 0)),
        "gemini_requests_by_route": requests,
        "batch_jobs": int(stats.get("batch_jobs_created", 0)),
        "batch_requests": int(stats.get("batch_requests", 0)),
        "files_uploads": int(requests.get("files.upload_start", 0)),
        "files_uploads_by_type": uploads,
        "url_fetches": stats.get("urls", {}),
        "payload_requests": len(sizes),
        "payload_max_bytes": max(sizes, default=0),
        "payload_mean_bytes": round(sum(sizes) / len(sizes), 1) if sizes else 0.0,
        "payload_with_inline_data": inline_data,
        # where the bytes go; a signed URL's query values are cut (a URL is a credential)
        "payload_largest_redacted": _SIGNED_QUERY.sub(lambda m: f"{m[1]}=<{len(m[2])}>", largest),
    }


# -------------------------------------------------------------------------------------------- services
# Imported by a run (the stages, and what they import at run time): compiled once before anything is
# timed. With PYTHONDONTWRITEBYTECODE set (as in some CI images) and no __pycache__, every process would
# compile ~2,500 modules from source (46 s of a 200-object job's main process on a loaded 2-core box),
# which is the environment's cost, not the pipeline's.
_WARM_IMPORTS = (
    "pipeline.run.job, pipeline.run.pool, pipeline.discover, pipeline.plan, pipeline.prepare, "
    "pipeline.infer, pipeline.validate, pipeline.commit, pipeline_tools.bench.scale_job, "
    "great_expectations, google.genai, boto3, pyarrow.parquet"
)


def _bytecode_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def warm_bytecode() -> float:
    """Import what a run imports once in a process that writes bytecode; the seconds it took."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {_WARM_IMPORTS}"], env=_bytecode_env(), check=True)
    return time.perf_counter() - start


def _job_env(services_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in _bytecode_env().items() if not k.startswith("MEDIA_PIPELINE_")}
    return {
        **env,
        **services_env,
        "MEDIA_PIPELINE_SOURCE": SOURCE,
        "MEDIA_PIPELINE_DEST": DEST,
        "MEDIA_PIPELINE_MODE": "batch",
        "MEDIA_PIPELINE_TRANSPORT": "url",
    }


def _emulator_config(cfg: ScaleConfig, log_size: int) -> Any:
    from gemini_emulator import EmulatorConfig

    return EmulatorConfig(
        batch_pending_s=cfg.batch_delay_s / 3,
        batch_running_s=cfg.batch_delay_s * 2 / 3,
        request_log_size=log_size,
        request_log_clip=None,  # bodies whole: the batch payload is measured from them
    )


def _largest_under(store: Any, loc: Any) -> tuple[int, str]:
    best = (0, "")
    for obj in store.list(loc):
        if int(obj["Size"]) > best[0]:
            best = (int(obj["Size"]), str(obj["Key"]))
    return best


def _upload_files(store: Any, dt: date, paths: list[Path]) -> float:
    from pipeline.discover import date_prefix
    from pipeline.storage import S3Location

    source = S3Location.parse(SOURCE)
    store.ensure_bucket(source.bucket)
    store.ensure_bucket(S3Location.parse(DEST).bucket)
    prefix = date_prefix(source, dt)
    start = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: store.upload(p, prefix.join(p.name)), paths))
    return time.perf_counter() - start


def run_size(n: int, cfg: ScaleConfig, log: Callable[[str], None]) -> dict[str, Any]:
    """Floor and job for a night of n objects; every measurement of that size."""
    from pipeline.storage import S3Location, S3Store
    from pipeline_tools.embedded import embedded_services

    started = time.perf_counter()
    night = generate_scale_night(n, cfg.cache_dir, long_videos=cfg.long_videos)
    log(f"scale {n}: objects ready in {time.perf_counter() - started:.0f} s ({night.mix()}); floor ...")
    floor = measure_floor(night)
    log(f"scale {n}: floor {floor.wall_s:.1f} s wall, {floor.cpu_s:.1f} s CPU ({floor.workers} processes)")
    s3 = S3RequestLog()
    with (
        tempfile.TemporaryDirectory(prefix="gmp-bench-scale-") as work,
        embedded_services(emulator_config=_emulator_config(cfg, 4 * n + 1000), wrap_s3=s3.wrap) as services,
    ):
        store = S3Store()
        upload_s = _upload_files(store, SCALE_DATE, night.paths)
        log(f"scale {n}: uploaded in {upload_s:.0f} s; running the job ...")
        s3.reset()
        services.emulator.reset()
        env = {**_job_env(services.env()), "MEDIA_PIPELINE_BATCH_POLL_SECONDS": str(cfg.batch_poll_s)}
        profile = cfg.profile_dir / f"scale-{n}.pstats" if cfg.profile_dir else None
        job = run_job_process(env, SCALE_DATE, dry_run=False, work=Path(work), profile=profile)
        s3_seen = s3.snapshot()
        evidence = emulator_evidence(services.emulator.stats(), services.emulator.recorded_requests())
        run_id = str(job.result.get("run_id"))
        left = _largest_under(store, S3Location.parse(DEST).join("_staging", "runs", run_id))
    state_put = s3_seen["largest_put"].get("_staging/runs", {"bytes": 0, "key": ""})
    details = {
        "objects": n,
        "mix": night.mix(),
        "upload_s": round(upload_s, 1),
        "floor": floor.__dict__,
        "job": {"wall_s": job.wall_s, "cpu_s": job.cpu_s, "peak_rss_mb": round(job.peak_rss_mb, 1)},
        "run": job.result,
        "s3": s3_seen,
        "gemini": evidence,
        "state_write": {
            "largest_put_bytes": state_put["bytes"],
            "largest_put_key": state_put["key"],
            "largest_left_bytes": left[0],
            "largest_left_key": left[1],
        },
    }
    log(
        f"scale {n}: job {job.wall_s:.1f} s wall ({job.wall_s / floor.wall_s:.2f}x floor), "
        f"{job.cpu_s:.1f} s CPU, peak {job.peak_rss_mb:.0f} MB, "
        f"{s3_seen['requests_total'] / n:.1f} S3 and {evidence['gemini_requests'] / n:.2f} Gemini requests "
        f"per object, {evidence['files_uploads']} uploads; stages "
        + ", ".join(f"{k} {v:.0f} s" for k, v in job.result.get("stage_s", {}).items())
    )
    return details


# ------------------------------------------------------------------------------------ dry-run planning
def _put_tiny_in_backend(bucket: str, keys: Iterator[tuple[str, bytes]]) -> int:
    """Objects straight into moto's in-process store (the server lists and serves them like any other):
    an HTTP PUT per object is what takes the time, and it is timed on a sample instead."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
    count = 0
    for key, data in keys:
        backend.put_object(bucket, key, data)
        count += 1
    return count


def run_plan(p: int, cfg: ScaleConfig, log: Callable[[str], None]) -> dict[str, Any]:
    """A dry run over a listing of p distinct tiny PNGs: plan time per object, memory, state writes."""
    from pipeline.discover import date_prefix
    from pipeline.storage import S3Location, S3Store
    from pipeline_tools.embedded import embedded_services

    s3 = S3RequestLog()
    source = S3Location.parse(SOURCE)
    with (
        tempfile.TemporaryDirectory(prefix="gmp-bench-plan-") as work,
        embedded_services(emulator_config=_emulator_config(cfg, 1000), wrap_s3=s3.wrap) as services,
    ):
        store = S3Store()
        store.ensure_bucket(source.bucket)
        store.ensure_bucket(S3Location.parse(DEST).bucket)
        prefix = date_prefix(source, PLAN_DATE)
        sample = min(cfg.http_upload_sample, p)
        start = time.perf_counter()
        for i in range(sample):  # one client, one object at a time: what an upload script does
            store.put_bytes(prefix.join(f"tiny{i:06d}.png"), tiny_png(i))
        http_s = time.perf_counter() - start
        start = time.perf_counter()
        keys = ((prefix.join(f"tiny{i:06d}.png").key, tiny_png(i)) for i in range(sample, p))
        injected = _put_tiny_in_backend(source.bucket, keys)
        inject_s = time.perf_counter() - start
        log(
            f"plan {p}: {sample} tiny objects PUT over HTTP in {http_s:.1f} s "
            f"({p * http_s / max(sample, 1):.0f} s for all {p} at that rate); {injected} more put in "
            f"moto's store directly in {inject_s:.1f} s; dry run ..."
        )
        s3.reset()
        profile = cfg.profile_dir / f"plan-{p}.pstats" if cfg.profile_dir else None
        job = run_job_process(
            _job_env(services.env()), PLAN_DATE, dry_run=True, work=Path(work), profile=profile
        )
        s3_seen = s3.snapshot()
    state_put = s3_seen["largest_put"].get("_staging/runs", {"bytes": 0, "key": ""})
    details = {
        "objects": p,
        "http_put_sample": sample,
        "http_put_sample_s": round(http_s, 2),
        "http_put_all_estimated_s": round(p * http_s / max(sample, 1), 1),
        "backend_put_s": round(inject_s, 1),
        "job": {"wall_s": job.wall_s, "cpu_s": job.cpu_s, "peak_rss_mb": round(job.peak_rss_mb, 1)},
        "run": job.result,
        "s3": s3_seen,
        "state_write": {"largest_put_bytes": state_put["bytes"], "largest_put_key": state_put["key"]},
    }
    log(
        f"plan {p}: {job.wall_s:.1f} s ({1000 * job.wall_s / p:.2f} ms per object), peak "
        f"{job.peak_rss_mb:.0f} MB, largest state write {state_put['bytes'] / 1e6:.1f} MB"
    )
    return details


# ------------------------------------------------------------------------------------------------ rows
def size_rows(d: dict[str, Any]) -> list[Row]:
    n, floor, job, gem = d["objects"], d["floor"], d["job"], d["gemini"]
    stages = d["run"].get("stage_s", {})
    state = d["state_write"]
    state_mb = max(state["largest_put_bytes"], state["largest_left_bytes"]) / 1e6
    uploads_by = ", ".join(f"{k}: {v}" for k, v in gem["files_uploads_by_type"].items()) or "none"
    ratio_target = JOB_FLOOR_TARGET if n >= JOB_FLOOR_FROM else None
    s = f"scale {n:,}"
    rows = [
        Row(
            f"{s}: whole job wall time",
            job["wall_s"],
            unit="s",
            note=f"{d['run'].get('items_ok')} ok / {d['run'].get('items_total')} items, "
            f"{d['run'].get('status')}; floor {floor['wall_s']:.1f} s",
        ),
        Row(
            f"{s}: whole job / floor (wall)",
            job["wall_s"] / floor["wall_s"],
            ratio_target,
            note=f"floor: probe + plan + prepare in {floor['workers']} processes"
            + ("" if ratio_target else f"; the 2x target is set at {JOB_FLOOR_FROM:,}"),
        ),
        Row(
            f"{s}: CPU per object (job tree)",
            job["cpu_s"] / n,
            unit="s",
            note=f"floor {floor['cpu_s'] / n:.3f} s ({job['cpu_s'] / max(floor['cpu_s'], 1e-9):.2f}x)",
        ),
        Row(
            f"{s}: S3 requests per object",
            d["s3"]["requests_total"] / n,
            unit="",
            note=f"at the S3 server; + {d['s3']['presigned_total'] / n:.2f} presigned GETs (emulator fetches)",
        ),
        Row(
            f"{s}: Gemini requests per object",
            gem["gemini_requests"] / n,
            unit="",
            note=f"{gem['batch_jobs']} batch job(s), {gem['batch_requests']} batch requests",
        ),
        Row(f"{s}: peak RSS (job process tree)", job["peak_rss_mb"], PEAK_RSS_TARGET_MB, unit="MB"),
        Row(
            f"{s}: largest state write",
            state_mb,
            STATE_WRITE_TARGET_MB,
            unit="MB",
            note=f"under _staging/runs/: {state['largest_put_key'].rsplit('/', 1)[-1] or '-'} (at the server)",
        ),
        Row(f"{s}: Files API uploads (transport=url)", gem["files_uploads"], 0, unit="", note=uploads_by),
        Row(
            f"{s}: batch request payload per chunk (max)",
            gem["payload_max_bytes"],
            PAYLOAD_TARGET_BYTES,
            unit="B",
            note=f"mean {gem['payload_mean_bytes']:.0f} B over {gem['payload_requests']} requests, "
            f"{gem['payload_with_inline_data']} with inline bytes",
        ),
    ]
    rows += [Row(f"{s}: stage {name}", sec, unit="s", note="wall") for name, sec in stages.items()]
    return rows


def linear_rows(sizes: list[dict[str, Any]]) -> list[Row]:
    if len(sizes) < 2:
        return []
    small, big = min(sizes, key=lambda d: d["objects"]), max(sizes, key=lambda d: d["objects"])
    per_small = small["job"]["wall_s"] / small["objects"]
    per_big = big["job"]["wall_s"] / big["objects"]
    return [
        Row(
            f"per-object wall at {big['objects']:,} / at {small['objects']:,}",
            per_big / per_small,
            LINEAR_TARGET,
            note=f"{per_big:.3f} s vs {per_small:.3f} s",
        )
    ]


def plan_rows(d: dict[str, Any]) -> list[Row]:
    p, job = d["objects"], d["job"]
    stages = d["run"].get("stage_s", {})
    split = ", ".join(f"{k} {v:.0f} s" for k, v in stages.items())
    state_mb = d["state_write"]["largest_put_bytes"] / 1e6
    return [
        Row(
            f"dry-run plan {p:,}: time per object",
            1000 * job["wall_s"] / p,
            unit="ms",
            note=f"{job['wall_s']:.0f} s wall, {job['cpu_s']:.0f} s CPU; {split}",
        ),
        Row(f"dry-run plan {p:,}: peak RSS (job process tree)", job["peak_rss_mb"], unit="MB"),
        Row(f"dry-run plan {p:,}: largest state write", state_mb, STATE_WRITE_TARGET_MB, unit="MB"),
    ]


def run_scale_bench(cfg: ScaleConfig, log: Callable[[str], None] = print) -> tuple[list[Row], dict[str, Any]]:
    reaper = _become_subreaper()
    if not reaper:
        log("WARNING: not a child subreaper: CPU of pool workers orphaned at exit may be missed")
    warm_s = warm_bytecode()
    log(f"bytecode of what a run imports ready ({warm_s:.0f} s)")
    sizes = [run_size(n, cfg, log) for n in cfg.sizes]
    rows = [row for d in sizes for row in size_rows(d)] + linear_rows(sizes)
    details: dict[str, Any] = {"sizes": sizes, "subreaper": reaper, "warm_bytecode_s": round(warm_s, 1)}
    if cfg.plan_objects:
        details["plan"] = run_plan(cfg.plan_objects, cfg, log)
        rows += plan_rows(details["plan"])
    return rows, details
