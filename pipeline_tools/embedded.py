"""The embedded services the demo and the tests run against: moto's S3 server and the Gemini emulator,
both real HTTP servers on loopback. The pipeline reaches them exactly as it reaches AWS and Gemini: the
standard AWS variables and `GOOGLE_GEMINI_BASE_URL` point the clients at them."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from gemini_emulator import EmulatorConfig, GeminiEmulator

# Dummy credentials for moto only; real deployments take theirs from the environment / Airflow.
_MOTO_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
_EMULATOR_KEY = "emulator-key-not-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WrappedMotoServer(ThreadedMotoServer):
    """moto's threaded server with its WSGI app passed through `wrap` (the bench counts requests there,
    at the server, independently of the pipeline)."""

    def __init__(self, wrap: Callable[[WsgiApp], WsgiApp], *, ip_address: str, port: int) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self._wrap = wrap

    def _server_entry(self) -> None:
        app = self._wrap(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


@dataclass
class EmbeddedServices:
    s3_endpoint: str
    gemini_base_url: str
    emulator: GeminiEmulator

    def env(self) -> dict[str, str]:
        """Environment that points boto3, pyarrow and google-genai at these servers."""
        return {
            **_MOTO_ENV,
            "AWS_ENDPOINT_URL": self.s3_endpoint,
            "AWS_ENDPOINT_URL_S3": self.s3_endpoint,
            "GOOGLE_GEMINI_BASE_URL": self.gemini_base_url,
            "GEMINI_API_KEY": _EMULATOR_KEY,
        }


@contextmanager
def embedded_services(
    *,
    batch_delay_s: float = 1.0,
    set_env: bool = True,
    emulator_config: EmulatorConfig | None = None,
    wrap_s3: Callable[[WsgiApp], WsgiApp] | None = None,
) -> Iterator[EmbeddedServices]:
    """Start moto S3 and the Gemini emulator on free loopback ports; optionally export their env.
    `emulator_config` replaces the emulator's (then `batch_delay_s` is unused); `wrap_s3` wraps the S3
    server's WSGI app (a request counter)."""
    # moto's werkzeug logs one line per S3 call at INFO: noise in the demo's and the tests' output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    port = free_port()
    moto = (
        ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        if wrap_s3 is None
        else WrappedMotoServer(wrap_s3, ip_address="127.0.0.1", port=port)
    )
    moto.start()
    config = emulator_config or EmulatorConfig(
        batch_pending_s=batch_delay_s / 3, batch_running_s=batch_delay_s * 2 / 3
    )
    emulator = GeminiEmulator(config).start()
    services = EmbeddedServices(f"http://127.0.0.1:{port}", emulator.base_url, emulator)
    saved = {k: os.environ.get(k) for k in services.env()}
    if set_env:
        os.environ.update(services.env())
    try:
        yield services
    finally:
        if set_env:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        emulator.stop()
        moto.stop()
