"""Live checks: a few small requests that show whether the service Gemini really is agrees with the
dated catalog (pipeline/catalog) the pipeline plans and bills by. The tests run on the emulator, which
bills by that same catalog, so only these checks, pointed at the real service, can show a difference.

Each check compares what it OBSERVES with what the catalog EXPECTS and returns rows (MATCH / DIFF /
INFO); `media-pipeline live-check` renders them. Nothing here reads the environment or prints: the
caller passes the client (pipeline.gemini.client.GeminiClient) and the models under check.
"""

from pipeline.gemini.live_check.calls import Outcome, attempt
from pipeline.gemini.live_check.rows import Row, Verdict, counts, exit_code, summary_line
from pipeline.gemini.live_check.session import CHECKS, CostEstimate, LiveCheck
from pipeline.gemini.live_check.target import Planned, Target

__all__ = [
    "CHECKS",
    "CostEstimate",
    "LiveCheck",
    "Outcome",
    "Planned",
    "Row",
    "Target",
    "Verdict",
    "attempt",
    "counts",
    "exit_code",
    "summary_line",
]
