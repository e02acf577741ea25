"""GeminiBatchInferOperator: submit the run's Gemini batch jobs, free the worker slot while they run
(deferring to GeminiBatchTrigger in the triggerer), then collect their results into the manifest. A
night over the batch caps goes in waves (pipeline/infer/waves.py): each time a job ends the task
resumes, collects it, submits the next wave and defers again, until no job is in flight.

The pipeline does the work (`pipeline.infer.stage.submit_batches` / `step_batches` / `collect_batches`); this
class only maps it onto Airflow: connections in, deferral, and errors out. Submissions are recorded in
the manifest before the task defers, so a retried task re-attaches to its jobs instead of paying twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator

from pipeline.airflow.connections import AWS_CONN_ID, GEMINI_CONN_ID
from pipeline.airflow.runs import airflow_errors, gemini_client, run_context


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
        from pipeline.infer import submit_batches

        jobs, settings = self._in_run(context, submit_batches)
        if not jobs:  # nothing to wait for (all answered, ledger hits, or sync mode)
            return self._collect(context)
        self._defer(jobs, settings)
        return None  # not reached: defer() raises

    def _in_run(self, context: Mapping[str, Any], step: Callable[..., list[str]]) -> tuple[list[str], Any]:
        """One submit or collect step in the run's context: the jobs still in flight, and the settings."""
        with airflow_errors():
            ctx = run_context(context, self.aws_conn_id)
            try:
                return step(ctx, gemini_client(self.gemini_conn_id)), ctx.settings
            finally:
                ctx.close()

    def _defer(self, jobs: list[str], settings: Any) -> None:
        """Wait in the triggerer until one of the jobs in flight ends (the next wave waits for it)."""
        from pipeline.airflow.triggers import GeminiBatchTrigger, trigger_settle_seconds
        from pipeline.gemini.polling import PollingRule

        self.log.info("deferring until a batch job of %d finishes: %s", len(jobs), ", ".join(jobs))
        self.defer(
            trigger=GeminiBatchTrigger(
                job_names=jobs,
                gemini_conn_id=self.gemini_conn_id,
                polling=PollingRule.for_batches(self.poll_seconds or settings.batch_poll_seconds)
                .settled(trigger_settle_seconds())
                .to_dict(),
                timeout_seconds=settings.batch_timeout_seconds,
                until="any",
            ),
            method_name="execute_complete",
        )

    def execute_complete(
        self, context: Mapping[str, Any], event: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        from airflow.sdk.exceptions import AirflowException

        event = event or {}
        status = event.get("status")
        message = f"Gemini batch wait ended {status}: {event.get('message', 'no detail')}"
        if status == "failed":
            # An EXPIRED / FAILED job's unanswered requests go in the next wave (or synchronously with
            # on_batch_failure=sync); the pipeline fails the run when they have been sent too often, or
            # for a CANCELLED job.
            self.log.warning("%s; collecting, and sending its unanswered requests again", message)
        elif status != "success":
            # A timeout or a polling error: the retry re-attaches to the same jobs.
            raise AirflowException(message)
        else:
            self.log.info("%s", event.get("message"))
        return self._next_wave(context)

    def _next_wave(self, context: Mapping[str, Any]) -> dict[str, Any] | None:
        """Collect the jobs that ended and submit the next wave: defer again while jobs are in flight."""
        from pipeline.infer import step_batches

        jobs, settings = self._in_run(context, step_batches)
        if jobs:
            self._defer(jobs, settings)
            return None  # not reached: defer() raises
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
