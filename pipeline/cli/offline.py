"""The offline commands (`demo`, `emulator`) run on tooling that is not the runtime library: the Gemini
emulator (`gemini_emulator`), the embedded services and sample generator (`pipeline_tools`), and the
third-party packages only they use (moto's S3 server, DuckDB), installed by the `offline` extra."""

from __future__ import annotations

from rich.markup import escape

OFFLINE_EXTRA = "offline"
# A missing module of our own is a broken install or a bug, not a missing extra: it is not explained away.
OWN_PACKAGES = frozenset({"pipeline", "gemini_emulator", "pipeline_tools"})


def missing_extra(command: str, exc: ModuleNotFoundError) -> str:
    """The one-line fix for `command` when a third-party module of the extra is not installed (escaped for
    the rich console: `[offline]` is not markup); re-raises `exc` when the missing module is one of ours."""
    missing = exc.name or ""
    if not missing or missing.split(".")[0] in OWN_PACKAGES:
        raise exc
    return escape(
        f"`media-pipeline {command}` needs the '{OFFLINE_EXTRA}' extra (no module named {missing!r}): "
        f"pip install 'gemini-media-pipeline[{OFFLINE_EXTRA}]', or uv sync --extra {OFFLINE_EXTRA}"
    )
