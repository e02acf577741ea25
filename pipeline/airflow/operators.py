"""GeminiBatchInferOperator: submit the run's Gemini batch jobs, free the worker slot while they run
(deferring to GeminiBatchTrigger in the triggerer), then collect their results into the manifest.

The pipeline does the work (`pipeline.infer.stage.submit_batches` / `collect_batches`); this
class only maps it onto Airflow: connections in, deferral, and errors out. Submissions are recorded in
the manifest before the task defers, so a retried task re-attaches to its jobs instead of paying twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator

from pipeline.airflow.connections import AWS_CONN_ID, GEMINI_CONN_ID
from pipeline.airflow.runs import airflow_errors, gemini_client, run_context, settings_from


class GeminiBatchInferOperator(BaseOperator):
    """Send every prepared chunk of the run to Gemini and wait for the answers without holding a slot.

    :param aws_conn_id: Airflow AWS connection for S3 (manifest and chunks).
    :param gemini_conn_id: Airflow connection holding the Gemini API key (password) and optional
        `base_url` / `api_version` extras.
    :param poll_seconds: the trigger's polling interval (pipeline.gemini.polling.PollingRule: doubles
        after each look up to 30 times itself, at most 5 min); default: the run's `batch_poll_seconds`.
    """

    template_fields: Sequence[str] = ("aws_conn_id", "gemini_conn_id")
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        aws_conn_id: str = AWS_CONN_ID,
        gemini_conn_id: str = GEMINI_CONN_ID,
        poll_seconds: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.aws_conn_id = aws_conn_id
        self.gemini_conn_id = gemini_conn_id
        self.poll_seconds = poll_seconds

    def execute(self, context: Mapping[str, Any]) -> dict[str, Any] | None:
        from pipeline.airflow.triggers import GeminiBatchTrigger
        from pipeline.gemini.polling import PollingRule
        from pipeline.infer import submit_batches

        with airflow_errors():
            ctx = run_context(context, self.aws_conn_id)
            try:
                jobs = submit_batches(ctx, gemini_client(self.gemini_conn_id))
                settings = ctx.settings
            finally:
                ctx.close()
        if not jobs:  # nothing to wait for (all answered, ledger hits, or sync mode)
            return self._collect(context)
        self.log.info("deferring until %d batch job(s) finish: %s", len(jobs), ", ".join(jobs))
        self.defer(
            trigger=GeminiBatchTrigger(
                job_names=jobs,
                gemini_conn_id=self.gemini_conn_id,
                polling=PollingRule.for_batches(self.poll_seconds or settings.batch_poll_seconds)
                .settled()
                .to_dict(),
                timeout_seconds=settings.batch_timeout_seconds,
            ),
            method_name="execute_complete",
        )
        return None  # not reached: defer() raises

    def execute_complete(
        self, context: Mapping[str, Any], event: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowException, AirflowFailException

        event = event or {}
        status = event.get("status")
        message = f"Gemini batch wait ended {status}: {event.get('message', 'no detail')}"
        if status == "failed" and settings_from(context).on_batch_failure == "sync":
            # the run asked for failed jobs' requests to be sent synchronously: collect does that
            self.log.warning("%s; collecting with on_batch_failure=sync", message)
        elif status != "success":
            # A job that ended FAILED / CANCELLED / EXPIRED stays that way: retrying cannot help. A timeout
            # or a polling error may: the retry re-attaches to the same jobs.
            raise (AirflowFailException if status == "failed" else AirflowException)(message)
        else:
            self.log.info("%s", event.get("message"))
        return self._collect(context)

    def _collect(self, context: Mapping[str, Any]) -> dict[str, Any]:
        from pipeline.infer import collect_batches

        with airflow_errors():
            ctx = run_context(context, self.aws_conn_id)
            try:
                manifest = collect_batches(ctx, gemini_client(self.gemini_conn_id))
            finally:
                ctx.close()
        statuses = [outcome.status for outcome in manifest.outcomes.values()]
        return {
            "requests": len(statuses),
            "ok": statuses.count("ok"),
            "errors": len(statuses) - statuses.count("ok"),
            "batch_jobs": [b.job_name for b in manifest.batches],
        }
