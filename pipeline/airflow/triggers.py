"""GeminiBatchTrigger: waits in the triggerer (not on a worker slot) until Gemini batch jobs end.

It holds only job names and the connection id, never a client (it is serialized into the metadata DB
and rebuilt in the triggerer), and polls `batches.get` through google-genai's async client with
exponential backoff. It lives in the installed package because the triggerer does not load DAG files.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from pipeline.airflow.connections import GEMINI_CONN_ID

SUCCEEDED = "JOB_STATE_SUCCEEDED"
# The first look waits this long. A trigger that fires while the deferring task process is still
# exiting races Airflow's bookkeeping: seen on 3.3 under load, the resumed task was failed ("finished
# with state success, but the task instance's state attribute is running") and only its retry, minutes
# later, collected. Batch jobs take minutes, so waiting a few seconds first costs nothing.
FIRST_POLL_SECONDS = 10.0
FINAL_STATES = {SUCCEEDED, "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}


class GeminiBatchTrigger(BaseTrigger):
    """Fires one event when every job has reached a final state (or on timeout / a terminal error).

    Event payload: `{"status": "success" | "failed" | "timeout" | "error", "states": {job: state},
    "message": str}`; "success" means every job ended JOB_STATE_SUCCEEDED.
    """

    def __init__(
        self,
        job_names: list[str],
        gemini_conn_id: str = GEMINI_CONN_ID,
        poll_seconds: float = 10.0,
        max_poll_seconds: float = 300.0,
        timeout_seconds: float = 24 * 3600.0,
        first_poll_seconds: float = FIRST_POLL_SECONDS,
    ) -> None:
        super().__init__()
        self.first_poll_seconds = first_poll_seconds
        self.job_names = list(job_names)
        self.gemini_conn_id = gemini_conn_id
        self.poll_seconds = poll_seconds
        self.max_poll_seconds = max_poll_seconds
        self.timeout_seconds = timeout_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_names": self.job_names,
                "gemini_conn_id": self.gemini_conn_id,
                "poll_seconds": self.poll_seconds,
                "max_poll_seconds": self.max_poll_seconds,
                "timeout_seconds": self.timeout_seconds,
                "first_poll_seconds": self.first_poll_seconds,
            },
        )

    async def _client(self):  # noqa: ANN202 - google.genai.Client, imported lazily
        from pipeline.airflow.connections import async_gemini_connection
        from pipeline.gemini.client import make_client

        return make_client(await async_gemini_connection(self.gemini_conn_id))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from pipeline.errors import GeminiTransientError
        from pipeline.gemini.client import translate_api_error
        from pipeline.infer.batch import state_name

        states: dict[str, str] = dict.fromkeys(self.job_names, "JOB_STATE_UNKNOWN")
        try:
            client = await self._client()
        except Exception as exc:  # noqa: BLE001 - report any setup failure as an event, not a crash
            yield TriggerEvent(
                {"status": "error", "states": states, "message": f"cannot build the Gemini client: {exc}"}
            )
            return
        started = time.monotonic()
        delay = self.poll_seconds
        await asyncio.sleep(self.first_poll_seconds)
        while True:
            for name in [n for n, s in states.items() if s not in FINAL_STATES]:
                try:
                    job = await client.aio.batches.get(name=name)
                except Exception as exc:  # noqa: BLE001 - translated below
                    err = translate_api_error(exc, f"polling {name}")
                    if isinstance(err, GeminiTransientError):
                        self.log.warning("%s; polling again in %.0fs", err, delay)
                        continue
                    yield TriggerEvent({"status": "error", "states": states, "message": str(err)})
                    return
                state = state_name(job)
                if state != states[name]:
                    self.log.info("%s: %s", name, state)
                states[name] = SUCCEEDED if job.done and state not in FINAL_STATES else state
            if all(s in FINAL_STATES for s in states.values()):
                ok = all(s == SUCCEEDED for s in states.values())
                failed = {n: s for n, s in states.items() if s != SUCCEEDED}
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
            await asyncio.sleep(delay)
            delay = min(self.max_poll_seconds, delay * 2)
