"""Alerts: task failures, budget warnings and overrunning runs are logged and, when the Airflow Variable
`media_pipeline_webhook` holds a URL, POSTed to it as JSON (Slack/Teams/Alertmanager-style webhooks).

Payloads carry ids, dates, counts and error classes with a shortened message: never connection
fields, environment or settings that could hold secrets. A webhook that fails is logged, never raised
(an alert must not fail the task it reports on)."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.request
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.run.state import RunManifest

log = logging.getLogger(__name__)

WEBHOOK_VARIABLE = "media_pipeline_webhook"
_MAX_MESSAGE = 500


def webhook_url() -> str | None:
    from airflow.sdk import Variable

    try:
        url = Variable.get(WEBHOOK_VARIABLE, default=None)
    except Exception:  # noqa: BLE001 - no Variable backend reachable (e.g. in a bare unit test)
        return None
    return str(url).strip() or None if url else None


def post_json(url: str, payload: Mapping[str, Any], timeout_s: float = 10.0) -> bool:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, default=str).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - operator-set URL
            status: int = response.status
            return 200 <= status < 300
    except Exception as exc:  # noqa: BLE001 - alerting is best effort
        log.warning("webhook %s failed: %s: %s", WEBHOOK_VARIABLE, type(exc).__name__, exc)
        return False


def notify(event: str, payload: Mapping[str, Any], url: str | None = None) -> dict[str, Any]:
    """Log the event and POST it to the webhook when one is configured. Returns what was sent."""
    body = {"event": event, "source": "media_pipeline", **payload}
    log.warning("media_pipeline %s: %s", event, json.dumps(body, default=str))
    target = url if url is not None else webhook_url()
    if target:
        post_json(target, body)
    return body


def _ids(context: Mapping[str, Any]) -> dict[str, Any]:
    dag_run = context.get("dag_run")
    ti = context.get("ti") or context.get("task_instance")
    return {
        "dag_id": getattr(dag_run, "dag_id", None),
        "run_id": getattr(dag_run, "run_id", None),
        "task_id": getattr(ti, "task_id", None),
        "map_index": getattr(ti, "map_index", None),
        "try_number": getattr(ti, "try_number", None),
        "logical_date": str(context.get("logical_date")) if context.get("logical_date") else None,
    }


def on_task_failure(context: Mapping[str, Any]) -> None:
    """`on_failure_callback` of every task: which task failed, with what error class and message."""
    exc = context.get("exception")
    message = str(exc)[:_MAX_MESSAGE] if exc is not None else None
    notify("task_failed", {**_ids(context), "error": type(exc).__name__ if exc else None, "message": message})


def budget_warning(context: Mapping[str, Any], manifest: RunManifest, share: Decimal) -> None:
    """Called by the plan task when the estimate's upper bound reaches `share` of the budget (over it,
    plan fails)."""
    notify(
        "budget_warning",
        {
            **_ids(context),
            "estimated_cost_usd": str(manifest.estimated_cost_usd),
            "estimated_cost_upper_usd": str(manifest.estimated_cost_upper_usd),
            "budget_usd": str(manifest.budget_usd),
            "share": round(float(share), 4),
        },
    )


def latency_alert(context: Mapping[str, Any], alerts: list[str], latency: list[dict[str, Any]]) -> None:
    """Called by the commit task when a (mode, model)'s p99 request latency passed its threshold
    (Settings.sync_latency_p99_alert_ms / batch_latency_p99_alert_ms): the failure callback's webhook."""
    notify(
        "latency_p99_exceeded",
        {**_ids(context), "alerts": [a[:_MAX_MESSAGE] for a in alerts], "latency": latency},
    )


async def run_overdue(context: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
    """Deadline callback (runs in the triggerer): a run still going past its deadline. Airflow passes
    `context={"dag_run": {...DAGRunResponse json...}, "deadline": {"id", "deadline_time"}}`."""
    context = context or {}
    dag_run = context.get("dag_run") or {}
    deadline = context.get("deadline") or {}
    payload = {
        "dag_id": dag_run.get("dag_id"),
        "run_id": dag_run.get("dag_run_id") or dag_run.get("run_id"),
        "queued_at": dag_run.get("queued_at"),
        "state": dag_run.get("state"),
        "deadline": str(deadline.get("deadline_time", "")),
        **{k: v for k, v in kwargs.items() if isinstance(v, str | int | float)},
    }
    url = await asyncio.to_thread(webhook_url)
    await asyncio.to_thread(notify, "run_overdue", payload, url or "")
