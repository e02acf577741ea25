"""What a live check reports: one row per compared fact (catalog EXPECTED vs service OBSERVED), and what
the rows add up to (the summary line and the command's exit code)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

Value = str | int


class Verdict(StrEnum):
    MATCH = "MATCH"  # the service did what the catalog says
    DIFF = "DIFF"  # it did not: the catalog (or the pipeline's reading of the docs) needs a look
    INFO = "INFO"  # reported, never compared (figures the catalog only assumes, or no claim at all)


@dataclass(frozen=True)
class Row:
    check: str  # models | tokens | thinking | routing | sampling | cache
    case: str  # what was sent, in words
    expected: Value  # what pipeline/catalog says
    observed: Value  # what the service answered (an error is an observation too)
    verdict: Verdict
    detail: str = ""  # the service's own message or numbers behind the observation

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict.value}


def compared(check: str, case: str, expected: Value, observed: Value, detail: str = "") -> Row:
    verdict = Verdict.MATCH if expected == observed else Verdict.DIFF
    return Row(check, case, expected, observed, verdict, detail)


def info(check: str, case: str, expected: Value, observed: Value, detail: str = "") -> Row:
    return Row(check, case, expected, observed, Verdict.INFO, detail)


def counts(rows: list[Row]) -> dict[str, int]:
    tally = Counter(row.verdict for row in rows)
    return {verdict.value: tally[verdict] for verdict in Verdict}


def summary_line(rows: list[Row]) -> str:
    n = counts(rows)
    compared_rows = n["MATCH"] + n["DIFF"]
    head = "the service agrees with the catalog" if not n["DIFF"] else "the service DIFFERS from the catalog"
    return (
        f"{head}: {n['MATCH']} of {compared_rows} compared row(s) match, {n['DIFF']} differ; "
        f"{n['INFO']} row(s) for information"
    )


def exit_code(rows: list[Row]) -> int:
    """0 when every compared row matches, 1 when any differs (2, a configuration error, is the CLI's)."""
    return 1 if any(row.verdict is Verdict.DIFF for row in rows) else 0
