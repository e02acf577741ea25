"""`media-pipeline`: run the nightly job, plan or prepare one file, run the demo or the emulator."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from pipeline.cli.render import RichProgress, console, print_summary, print_warnings
from pipeline.errors import BudgetExceededError, ConfigError, MediaError, PipelineError, RunQualityError

app = typer.Typer(
    name="media-pipeline",
    help="Gemini media pipeline: media in S3 -> ffmpeg chunks -> Gemini (batch) -> validated Parquet + costs.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

DateOpt = Annotated[str | None, typer.Option("--date", help="run date YYYY-MM-DD (default: yesterday, UTC)")]


def _date(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date() - timedelta(days=1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD", param_hint="--date") from None


def _settings(**overrides: Any) -> Any:
    from pipeline.config import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(problems) from None


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log every step")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


@app.command()
def run(
    date_: DateOpt = None,
    # The settings' options: each help is its Settings field's description (tests/test_settings_declaration.py).
    source: Annotated[
        str | None,
        typer.Option(help="s3://bucket/prefix holding the dt=YYYY-MM-DD/ partitions of media"),
    ] = None,
    dest: Annotated[
        str | None,
        typer.Option(help="s3://bucket/prefix the tables (and _staging/, _ledger/) are written under"),
    ] = None,
    mode: Annotated[
        str | None, typer.Option(help="batch (50% price, async), sync (generate_content), auto")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Gemini model id (default: the catalog's run_model); checked against "
            "pipeline/catalog/models.json when the settings load (a shut-down model is refused, naming its "
            "replacement) and with the service (models.get) before anything is paid"
        ),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(help="what is asked: a task name (describe) or package.module:TASK (see Tasks)"),
    ] = None,
    budget_usd: Annotated[
        float | None,
        typer.Option(
            "--budget-usd", help="stop before paying when the run's estimate exceeds this (USD); warn at 80%"
        ),
    ] = None,
    max_items: Annotated[
        int | None, typer.Option(help="process at most this many sources (smoke runs)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="plan and estimate only: no model call, no tables written")
    ] = False,
    run_id: Annotated[str | None, typer.Option(help="reuse a run id to resume an interrupted run")] = None,
) -> None:
    """Run the job for one date: S3 -> Gemini -> Parquet tables under --dest."""
    from pipeline.commit import RunSummary
    from pipeline.gemini.client import GeminiConnection
    from pipeline.run import run_job

    settings = _settings(
        source=source,
        dest=dest,
        mode=mode,
        model=model,
        task=task,
        budget_usd=budget_usd,
        max_items=max_items,
        dry_run=dry_run or None,
    )
    try:
        # The edge: credentials are read here, once, and passed to the run (which needs them only
        # where it calls Gemini: a dry run or a date with nothing to send runs without).
        connection = GeminiConnection.from_env_if_set()
        with RichProgress() as progress:
            result = run_job(settings, _date(date_), run_id=run_id, progress=progress, connection=connection)
    except BudgetExceededError as exc:
        _fail(str(exc), 3)
    except PipelineError as exc:
        _fail(str(exc))
    if isinstance(result, RunSummary):
        print_summary(result)
    else:
        console.print(
            f"dry run {result.run_id}: expected ${float(result.estimated_cost_usd):.6f}, at most "
            f"${float(result.estimated_cost_upper_usd):.6f} for {len(result.items)} object(s) "
            f"({result.estimate_basis})"
        )
        for item in result.items:
            console.print(
                f"  {item.source.uri}: {item.status.value} ${float(item.estimated_cost_usd):.6f} "
                f"(at most ${float(item.estimated_cost_upper_usd):.6f}) {item.error or ''}"
            )
        print_warnings(result.warnings)


def _local_or_s3(src: str, workdir: Path) -> tuple[Path, str]:
    if src.startswith("s3://"):
        from pipeline.storage import S3Location, S3Store

        loc = S3Location.parse(src)
        path = workdir / loc.key.rsplit("/", 1)[-1]
        S3Store().download(loc, path)
        return path, src
    path = Path(src)
    if not path.is_file():
        _fail(f"{src}: no such file")
    return path, path.resolve().as_uri()


def _answer_sizes(settings: Any, task: Any) -> Any:
    """Answer and thought sizes from the destination's history when it can be read, else the prior."""
    from pipeline.errors import PipelineError
    from pipeline.plan import AnswerSizeModel, answer_size_model
    from pipeline.storage import S3Location, S3Store

    try:
        return answer_size_model(S3Store(), S3Location.parse(settings.dest), task)
    except (PipelineError, OSError) as exc:
        sizes = AnswerSizeModel(prior=task.answer_prior)
        sizes.described = f"prior (no history read from {settings.dest}: {type(exc).__name__})"
        return sizes


def _plan_one(src: str, workdir: Path, *, history: bool = False) -> tuple[Any, Any, Any, Path]:
    from pipeline.account import plan_cost, tier_for_mode
    from pipeline.catalog import utc_today
    from pipeline.media import probe, verify_decodable
    from pipeline.media.subtitles import extract_cues
    from pipeline.plan import AnswerSizeModel, plan_for_run
    from pipeline.tasks import get_task

    settings = _settings()
    try:
        path, uri = _local_or_s3(src, workdir)
        result = verify_decodable(path, probe(path, source=uri), source=uri)
        task = get_task(settings.task)
        sizes = _answer_sizes(settings, task) if history else AnswerSizeModel(prior=task.answer_prior)
        # The subtitles the task sends are counted here as in a run (a text track, read without decoding).
        cues = extract_cues(path, result, source=uri) if task.subtitles else []
        plan = plan_for_run(uri, result, settings, task, sizes, cues)
    except (MediaError, ConfigError) as exc:
        _fail(str(exc), 2)
    except PipelineError as exc:  # the S3 object could not be read (access, network): said in one line
        _fail(str(exc))
    tier, today = tier_for_mode(settings.mode), utc_today()
    routes = sizes.answered_by
    plan.estimated_cost_usd = plan_cost(settings.model, plan, tier=tier, on=today, answered_by=routes)
    plan.estimated_cost_upper_usd = plan_cost(
        settings.model, plan, tier=tier, on=today, upper=True, answered_by=routes
    )
    return settings, result, plan, path


@app.command()
def plan(
    src: Annotated[str, typer.Argument(help="local file or s3://bucket/key")],
    as_json: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
    history: Annotated[
        bool,
        typer.Option(
            "--history/--no-history",
            help="estimate answers from earlier runs under MEDIA_PIPELINE_DEST (default: the task's prior)",
        ),
    ] = False,
) -> None:
    """Chunk plan and token / USD estimate (expected and upper bound) for one file. No model call."""
    import tempfile

    from pipeline.catalog import catalog_warnings

    with tempfile.TemporaryDirectory() as tmp:
        settings, result, media_plan, _ = _plan_one(src, Path(tmp), history=history)
    models = [settings.model, *([media_plan.settings.audio_model] if media_plan.settings.audio_model else [])]
    warnings = catalog_warnings(models)
    doc = {
        "model": settings.model,
        "mode": settings.mode,
        "probe": result.model_dump(mode="json"),
        "plan": media_plan.model_dump(mode="json"),
        "warnings": warnings,
    }
    for money in ("estimated_cost_usd", "estimated_cost_upper_usd"):  # numbers in the JSON, as always
        doc["plan"][money] = float(getattr(media_plan, money))
    if as_json:
        print(json.dumps(doc, indent=2))
        return
    table = Table(
        title=f"{src}: {result.media_type.value}, {result.duration_s or 0:.2f}s, {result.width}x{result.height}"
    )
    for column in ("chunk", "start_s", "end_s"):
        table.add_column(column, justify="right")
    for chunk in media_plan.chunks:
        table.add_row(str(chunk.index), f"{chunk.start_s:.2f}", f"{chunk.end_s:.2f}")
    console.print(table)
    e = media_plan.estimate
    console.print(
        f"tokens ({settings.model}): text {e.text}, image {e.image}, video {e.video}, audio {e.audio}, "
        f"answer ~{e.output} (at most {e.output_max}), thoughts ~{e.thoughts} (at most {e.thoughts_max})"
    )
    if (sound := media_plan.sound_estimate) is not None:
        console.print(
            f"tokens of the sound requests ({media_plan.settings.audio_model}): text {sound.text}, "
            f"audio {sound.audio}, answer ~{sound.output} (at most {sound.output_max}), thoughts "
            f"~{sound.thoughts} (at most {sound.thoughts_max})"
        )
    console.print(
        f"estimated cost ({settings.mode}): ${media_plan.estimated_cost_usd:.6f} expected, "
        f"${media_plan.estimated_cost_upper_usd:.6f} at most"
    )
    print_warnings(warnings)


@app.command()
def prepare(
    src: Annotated[str, typer.Argument(help="local file or s3://bucket/key")],
    out: Annotated[Path, typer.Option("--out", help="directory for the chunks and plan.json")],
) -> None:
    """Write the prepared chunks and plan.json for one source."""
    from pipeline.prepare import prepare_media
    from pipeline.tasks import get_task

    out.mkdir(parents=True, exist_ok=True)
    settings, result, media_plan, path = _plan_one(src, out)
    try:
        chunks = prepare_media(path, media_plan, result, out, subtitles=get_task(settings.task).subtitles)
    except MediaError as exc:
        _fail(str(exc), 2)
    doc = {
        "plan": media_plan.model_dump(mode="json"),
        "probe": result.model_dump(mode="json"),
        "chunks": [c.model_dump(mode="json") for c in chunks],
    }
    (out / "plan.json").write_text(json.dumps(doc, indent=2))
    for chunk in chunks:
        console.print(
            f"chunk {chunk.index} ({chunk.track.value}): start {chunk.start_s:.3f}s, {chunk.duration_s:.3f}s, {chunk.bytes} bytes -> {chunk.path}"
        )
    console.print(f"plan: {out / 'plan.json'}")


@app.command()
def emulator(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1 (0 = any free port)")] = 8765,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
) -> None:
    """Run the Gemini emulator: an OFFLINE TEST DOUBLE of the Gemini REST API, not Gemini.

    It answers from simple signal analysis of the media it receives (colour cuts, loudness, dominant
    colours) and bills tokens by the documented rules, so tests can check timestamps and costs. Point
    the SDK at it with GOOGLE_GEMINI_BASE_URL=http://HOST:PORT. With GEMINI_API_KEY set and no
    GOOGLE_GEMINI_BASE_URL, the pipeline calls the real Gemini API instead."""
    from pipeline.cli.offline import missing_extra

    try:
        from gemini_emulator import EmulatorConfig, serve_forever
    except ModuleNotFoundError as exc:
        _fail(missing_extra("emulator", exc))

    console.print(f"Gemini emulator (offline test double) on http://{host}:{port} — Ctrl-C to stop")
    serve_forever(EmulatorConfig(host=host, port=port))


@app.command()
def demo(
    media: Annotated[
        Path | None, typer.Option("--media", help="run on your own files instead of the generated samples")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="where the output tables are copied")] = Path(
        "demo-output"
    ),
    date_: DateOpt = None,
) -> None:
    """The whole job on embedded S3 (moto) and the Gemini emulator, then the tables in --out."""
    from pipeline.cli.offline import missing_extra
    from pipeline.commit import RunSummary
    from pipeline.run import run_job
    from pipeline.storage import S3Location, S3Store

    try:
        from pipeline.cli.demo import download_tables, example_query, sample_dir, upload_media
        from pipeline_tools.embedded import embedded_services
        from pipeline_tools.samples import generate_samples
    except ModuleNotFoundError as exc:
        _fail(missing_extra("demo", exc))
    dt = _date(date_)
    if media is not None and not media.is_dir():
        _fail(f"--media {media}: not a directory")
    with embedded_services() as services:
        console.print(
            f"embedded S3 (moto) at {services.s3_endpoint}; Gemini emulator (offline test double) at {services.gemini_base_url}"
        )
        settings = _settings(mode="batch", batch_poll_seconds=0.5)
        store = S3Store()
        media_dir = media
        if media_dir is None:
            media_dir = sample_dir()
            with console.status("generating sample media with known ground truth ..."):
                generate_samples(media_dir)
            console.print(f"samples and ground_truth.json in {media_dir}")
        count = upload_media(store, settings, dt, media_dir)
        console.print(f"uploaded {count} file(s) to {settings.source}/dt={dt.isoformat()}/")
        quality_error: RunQualityError | None = None
        summary: RunSummary | None = None
        with RichProgress() as progress:
            try:
                result = run_job(settings, dt, progress=progress, store=store)
                assert isinstance(result, RunSummary)
                summary = result
            except RunQualityError as exc:  # the tables are written: show them, then fail
                quality_error = exc
            except PipelineError as exc:
                _fail(str(exc))
        if out.exists():
            shutil.rmtree(out)
        download_tables(store, S3Location.parse(settings.dest), out)
    if summary is not None:
        print_summary(summary)
    columns, rows = example_query(out)
    table = Table(title="example query (DuckDB over the output tables)")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    console.print(
        f"[bold green]output tables in {out.resolve()}[/] (Hive-partitioned Parquet; try duckdb on {out}/segments/*/*.parquet)"
    )
    if quality_error is not None:
        _fail(str(quality_error))


def _register_report() -> None:
    from pipeline.cli.report import report

    app.command(name="report")(report)


_register_report()


def _register_live_check() -> None:
    from pipeline.cli.live_check import live_check

    app.command(name="live-check")(live_check)


_register_live_check()


if __name__ == "__main__":
    app()
