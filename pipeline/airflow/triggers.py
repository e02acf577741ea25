"""GeminiBatchTrigger: waits in the triggerer (not on a worker slot) until Gemini batch jobs end.

It holds only job names, the connection id and the polling rule, never a client (it is serialized into
the metadata DB and rebuilt in the triggerer), and looks at the jobs through GeminiClient's async
`get_batch_async` on the same schedule as the CLI's wait (pipeline.gemini.polling.PollingRule). It lives
in the installed package because the triggerer does not load DAG files.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from pipeline.airflow.connections import GEMINI_CONN_ID
from pipeline.gemini.polling import PollingRule

if TYPE_CHECKING:
    from pipeline.gemini.client import GeminiClient

SUCCEEDED = "JOB_STATE_SUCCEEDED"
FINAL_STATES = {SUCCEEDED, "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}


def trigger_settle_seconds() -> float:
    """How long the trigger waits before its first look. A trigger that fires while the deferring task
    process is still exiting races Airflow's bookkeeping: seen on 3.3 under load, the resumed task was
    failed ("finished with state success, but the task instance's state attribute is running") and only
    its retry, minutes later, collected. The task supervisor notices its process's exit at the latest one
    `[workers] min_heartbeat_interval` after it (its select() sleeps that long once the task has closed
    its sockets), so two of those intervals are enough: 10 s with Airflow's default of 5 s. Batch jobs
    take minutes, so the wait costs nothing in production."""
    from airflow.sdk.configuration import conf

    return 2.0 * float(conf.getfloat("workers", "min_heartbeat_interval", fallback=5.0))


class GeminiBatchTrigger(BaseTrigger):
    """Fires one event when every job has reached a final state (or on timeout / a terminal error).

    Event payload: `{"status": "success" | "failed" | "timeout" | "error", "states": {job: state},
    "message": str}`; "success" means every job ended JOB_STATE_SUCCEEDED. With `until="any"` it fires as
    soon as one job has ended (the operator then collects it and submits the next wave); "success" and
    "failed" then speak of the jobs that ended.
    """

    def __init__(
        self,
        job_names: list[str],
        gemini_conn_id: str = GEMINI_CONN_ID,
        polling: dict[str, float] | None = None,
        timeout_seconds: float = 24 * 3600.0,
        until: str = "all",
    ) -> None:
        super().__init__()
        self.job_names = list(job_names)
        self.gemini_conn_id = gemini_conn_id
        self.polling = (
            PollingRule(**polling)
            if polling
            else PollingRule.for_batches(10.0).settled(trigger_settle_seconds())
        )
        self.timeout_seconds = timeout_seconds
        self.until = until

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_names": self.job_names,
                "gemini_conn_id": self.gemini_conn_id,
                "polling": self.polling.to_dict(),
                "timeout_seconds": self.timeout_seconds,
                "until": self.until,
            },
        )

    async def _client(self) -> GeminiClient:
        from pipeline.airflow.connections import async_gemini_connection
        from pipeline.gemini.client import GeminiClient

        return GeminiClient(await async_gemini_connection(self.gemini_conn_id))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from pipeline.errors import GeminiTransientError, PipelineError
        from pipeline.infer import state_name

        states: dict[str, str] = dict.fromkeys(self.job_names, "JOB_STATE_UNKNOWN")
        try:
            client = await self._client()
        except Exception as exc:  # noqa: BLE001 - report any setup failure as an event, not a crash
            yield TriggerEvent(
                {"status": "error", "states": states, "message": f"cannot build the Gemini client: {exc}"}
            )
            return
        started = time.monotonic()
        delays = self.polling.delays()
        await asyncio.sleep(next(delays))
        while True:
            for name in [n for n, s in states.items() if s not in FINAL_STATES]:
                try:
                    job = await client.get_batch_async(name)
                except GeminiTransientError as err:
                    self.log.warning("%s; polling again on the next round", err)
                    continue
                except PipelineError as err:
                    yield TriggerEvent({"status": "error", "states": states, "message": str(err)})
                    return
                state = state_name(job)
                if state != states[name]:
                    self.log.info("%s: %s", name, state)
                states[name] = SUCCEEDED if job.done and state not in FINAL_STATES else state
            ended = [s for s in states.values() if s in FINAL_STATES]
            if len(ended) == len(states) or (self.until == "any" and ended):
                ok = all(s == SUCCEEDED for s in ended)
                failed = {n: s for n, s in states.items() if s in FINAL_STATES and s != SUCCEEDED}
                message = "all batch jobs succeeded" if ok else f"batch jobs did not succeed: {failed}"
                yield TriggerEvent(
                    {"status": "success" if ok else "failed", "states": states, "message": message}
                )
                return
            if time.monotonic() - started > self.timeout_seconds:
                yield TriggerEvent(
                    {
                        "status": "timeout",
                        "states": states,
                        "message": f"batch jobs not done after {self.timeout_seconds:.0f}s; they keep running "
                        "and a retry of the task re-attaches to them",
                    }
                )
                return
            await asyncio.sleep(next(delays))
