"""`media-pipeline live-check`: a few cents of requests to whatever the environment points the SDK at,
compared with the catalog (pipeline.gemini.live_check), as a table or JSON."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipeline.cli.render import console

if TYPE_CHECKING:  # google-genai, ffmpeg helpers and the planner load only when the command runs
    from pipeline.gemini.live_check import CostEstimate, Row, Target

# The checks' names for the help text; the same tuple as pipeline.gemini.live_check.CHECKS (a test
# holds them equal), spelled here so that `media-pipeline --help` does not import the SDK.
CHECK_NAMES = ("models", "tokens", "thinking", "routing", "sampling", "cache")
_VERDICT_STYLE = {"MATCH": "green", "DIFF": "bold red", "INFO": "cyan"}
# What the checks of the default models cost at most (README); pricier models are told before paying.
MEANT_TO_COST_USD = 0.05


def live_check(
    checks: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="CHECK",
            help=f"checks to run: {', '.join(CHECK_NAMES)} (default: all)",
            show_default=False,
        ),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="run model (default: the settings')")] = None,
    audio_model: Annotated[
        str | None, typer.Option("--audio-model", help="audio model (default: the describe task's)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the rows as JSON")] = False,
) -> None:
    """Compare the Gemini service with the catalog: a few cents of small requests.

    Goes wherever the environment points the SDK (GEMINI_API_KEY alone: the real service, you pay;
    GOOGLE_GEMINI_BASE_URL: e.g. the emulator) and checks that it serves, bills, thinks, routes and
    caches as pipeline/catalog says. Exit 0: every compared row matches, 1: a row differs, 2: a
    configuration error."""
    from pipeline.errors import ConfigError
    from pipeline.gemini.client import GeminiClient, GeminiConnection
    from pipeline.gemini.live_check import CHECKS, LiveCheck, exit_code

    # In --json mode stdout carries the JSON alone; what is said on the way goes to stderr.
    say = Console(stderr=True) if as_json else console
    unknown = [c for c in checks or () if c not in CHECKS]
    if unknown:
        raise typer.BadParameter(f"{', '.join(unknown)}: choose from {', '.join(CHECKS)}", param_hint="CHECK")
    chosen = [c for c in CHECKS if c in (checks or CHECKS)]  # rows come in this order too
    try:
        conn = GeminiConnection.from_env()
        target = _target(model, audio_model)
    except ConfigError as exc:
        say.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    where = f"{conn.base_url} (GOOGLE_GEMINI_BASE_URL)" if conn.base_url else "the real Gemini API (you pay)"
    say.print(
        f"live-check {' '.join(chosen)} against {where}: model {target.model}, audio model {target.audio_model}"
    )
    with tempfile.TemporaryDirectory(prefix="live-check-") as tmp:
        try:
            session = LiveCheck(target, chosen, Path(tmp))
        except ConfigError as exc:  # ffmpeg missing, or it cannot make an H.264/AAC clip
            say.print(f"[bold red]error:[/] cannot make the media of the tokens check: {exc}")
            raise typer.Exit(2) from None
        estimate = session.estimated_cost()
        say.print(_estimate_line(estimate))
        if estimate.usd > MEANT_TO_COST_USD:
            say.print(
                f"[yellow]warning:[/] more than the ${MEANT_TO_COST_USD:.2f} a live check costs on the default "
                "models: name fewer checks (e.g. `live-check models routing`) to pay less"
            )
        client = GeminiClient(conn)
        rows: list[Row] = []
        try:
            for name in session.checks:
                with say.status(f"live-check {name} ..."):
                    rows += session.run_check(client, name)
        except ConfigError as exc:  # the key was refused: nothing else would get through
            say.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(2) from None
    code = exit_code(rows)
    if as_json:
        print(json.dumps(_document(where, target, estimate, rows, code), indent=2))
    else:
        _render(rows)
    raise typer.Exit(code)


def _target(model: str | None, audio_model: str | None) -> Target:
    """The models under check; a model id the catalog does not know is a configuration error."""
    from pydantic import ValidationError

    from pipeline.catalog import model_info
    from pipeline.config import Settings
    from pipeline.errors import ConfigError
    from pipeline.gemini.live_check import Target
    from pipeline.tasks import DESCRIBE

    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError(f"the MEDIA_PIPELINE_* settings do not load: {exc}") from None
    run_model = model_info(model or settings.model).name
    sound_model = model_info(audio_model or DESCRIBE.prepare_defaults["audio_model"]).name
    # Text and sound requests carry the resolution request-wide on 2.x, where a per-part-only one
    # (ULTRA_HIGH) does not exist: those fall back to the pipeline's default.
    resolution = settings.media_resolution
    if resolution not in model_info(run_model).rules.request_resolutions:
        resolution = Settings.model_fields["media_resolution"].default
    return Target(run_model, sound_model, media_resolution=resolution)


def _estimate_line(estimate: CostEstimate) -> str:
    if not estimate.requests:
        return "models.get calls only: nothing is billed"
    line = (
        f"{estimate.requests} request(s): at most ${float(estimate.usd):.4f} if the service bills as the "
        "catalog says (standard rates, every answer at its output cap, the refusals it expects unbilled)"
    )
    if estimate.unpriced:
        line += f"; no price today for {', '.join(estimate.unpriced)} (left out)"
    return line


def _document(
    where: str, target: Target, estimate: CostEstimate, rows: list[Row], code: int
) -> dict[str, object]:
    from pipeline.gemini.live_check import counts

    return {
        "service": where,
        "model": target.model,
        "audio_model": target.audio_model,
        "estimated_cost_usd": float(estimate.usd),
        "rows": [row.to_json() for row in rows],
        "summary": counts(rows),
        "exit_code": code,
    }


def _render(rows: list[Row]) -> None:
    from pipeline.gemini.live_check import Verdict, summary_line

    table = Table(title="live check: catalog (expected) vs service (observed)")
    for column in ("check", "case", "expected", "observed", "verdict"):
        table.add_column(column, justify="right" if column in ("expected", "observed") else "left")
    for row in rows:
        style = _VERDICT_STYLE[row.verdict.value]
        table.add_row(row.check, row.case, str(row.expected), str(row.observed), f"[{style}]{row.verdict}[/]")
    console.print(table)
    for row in rows:
        if row.detail and row.verdict is not Verdict.MATCH:
            console.print(f"[dim]{row.check} {row.case}: {row.detail}[/]")
    console.print(summary_line(rows))
