"""The Gemini emulator's HTTP server: an OFFLINE TEST DOUBLE of the Gemini REST API, not the real service.

It speaks enough of the Gemini Developer API (under /v1 and /v1beta) for the real google-genai SDK to
run against it through `HttpOptions(base_url=...)` or GOOGLE_GEMINI_BASE_URL: generateContent,
streamGenerateContent (one SSE event), countTokens, batchGenerateContent with inline requests, batches
get/list/cancel/delete, models get/list. Answers are computed from the media bytes received, tokens are
billed by the catalog's rules, and it is strict where the API is (error JSON with code/message/status).
Test hooks: GET /_emulator/stats, POST /_emulator/faults (inject HTTP errors), EmulatorConfig.rpm_limit.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from pipeline.catalog import known_models, model_limits

from .batches import BatchStore
from .generate import ApiError, Generated, check_model, count_tokens, generate, normalise
from .usage import Stats

log = logging.getLogger(__name__)

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_ROUTE = re.compile(r"^/(v1|v1beta|v1alpha)/(.+)$")
_MODEL_CALL = re.compile(
    r"^models/([^/:]+):(generateContent|streamGenerateContent|countTokens|batchGenerateContent)$"
)


def _delay_default(index: int) -> float:
    """Defaults for the batch delays; env GEMINI_EMULATOR_BATCH_DELAY_S (total) splits 1/3 pending, 2/3 running."""
    total = os.environ.get("GEMINI_EMULATOR_BATCH_DELAY_S")
    if total:
        t = max(0.0, float(total))
        return (t / 3, t - t / 3)[index]
    return (0.5, 1.0)[index]


@dataclass
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    batch_pending_s: float = field(default_factory=lambda: _delay_default(0))
    batch_running_s: float = field(default_factory=lambda: _delay_default(1))
    rpm_limit: int | None = None  # generateContent/countTokens per rolling minute before 429
    require_api_key: bool = True


@dataclass
class Fault:
    """Answer the next `count` requests whose path contains `match` with HTTP `code`."""

    code: int
    count: int = 1
    match: str = ""
    message: str = "Injected fault (Gemini emulator)."


class GeminiEmulator:
    """Local Gemini REST API test double. Use as a context manager or start()/stop()."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self._stats = Stats()
        self.batches = BatchStore(
            self.config.batch_pending_s,
            self.config.batch_running_s,
            on_result=lambda g: self._bill("batch", g),
            on_create=self._stats.batch_created,
        )
        self._faults: list[Fault] = []
        self._faults_lock = threading.Lock()
        self._calls: deque[float] = deque()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def _bind(self) -> ThreadingHTTPServer:
        emulator = self

        class Handler(_Handler):
            emu = emulator

        server = ThreadingHTTPServer((self.config.host, self.config.port), Handler)
        server.daemon_threads = True
        self._server = server
        return server

    def start(self) -> GeminiEmulator:
        if self._server is None:
            self.batches.resume()
            server = self._bind()
            self._thread = threading.Thread(target=server.serve_forever, name="gemini-emulator", daemon=True)
            self._thread.start()
            log.info("Gemini emulator (offline test double) listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        self.batches.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> GeminiEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stats(self) -> dict:
        return self._stats.snapshot()

    # ------------------------------------------------------------ test hooks

    def inject_fault(self, code: int, count: int = 1, match: str = "", message: str | None = None) -> None:
        with self._faults_lock:
            self._faults.append(Fault(code, count, match, message or Fault.message))

    def clear_faults(self) -> None:
        with self._faults_lock:
            self._faults.clear()

    def _take_fault(self, path: str) -> ApiError | None:
        with self._faults_lock:
            for fault in self._faults:
                if fault.count > 0 and fault.match in path:
                    fault.count -= 1
                    return ApiError(fault.code, STATUS_NAMES.get(fault.code, "UNKNOWN"), fault.message)
        return None

    def _rate_limit(self) -> None:
        limit = self.config.rpm_limit
        if not limit:
            return
        now = time.monotonic()
        with self._faults_lock:
            while self._calls and now - self._calls[0] > 60:
                self._calls.popleft()
            if len(self._calls) >= limit:
                raise ApiError(
                    429, "RESOURCE_EXHAUSTED", f"Resource has been exhausted (emulator rpm_limit={limit})."
                )
            self._calls.append(now)

    def _bill(self, mode: str, gen: Generated) -> None:
        self._stats.billed(mode, gen.prompt_by_modality, gen.output_tokens)

    # ------------------------------------------------------------ routing

    def dispatch(
        self, method: str, path: str, query: dict, body: dict | None, raw_size: int
    ) -> tuple[int, dict]:
        m = _ROUTE.match(path)
        if not m:
            raise ApiError(404, "NOT_FOUND", f"Unknown path {path}")
        version, rest = m.groups()
        call = _MODEL_CALL.match(rest)
        if call and method == "POST":
            model, verb = call.groups()
            self._stats.request(verb)
            if verb != "batchGenerateContent":
                self._rate_limit()
            body = body if body is not None else {}
            if verb in ("generateContent", "streamGenerateContent"):
                gen = generate(model, normalise(body), version=version, raw_size=raw_size)
                self._bill("sync", gen)
                return 200, gen.response
            if verb == "countTokens":
                check_model(model, version, "countTokens")
                return 200, count_tokens(model, normalise(body), version=version)
            return 200, self.batches.create(model, body, version=version, raw_size=raw_size)
        if rest == "models" and method == "GET":
            self._stats.request("models.list")
            return 200, {"models": [_model_json(n) for n in known_models()]}
        if rest.startswith("models/") and method == "GET":
            self._stats.request("models.get")
            return 200, _model_json(check_model(rest, version, "get"))
        if rest == "batches" and method == "GET":
            self._stats.request("batches.list")
            size = (query.get("pageSize") or ["50"])[0]
            return 200, self.batches.list(
                int(size) if size.isdigit() else 50, (query.get("pageToken") or [None])[0]
            )
        bm = re.match(r"^batches/([^/:]+)(:cancel)?$", rest)
        if bm:
            job_id, cancel = bm.groups()
            if cancel and method == "POST":
                self._stats.request("batches.cancel")
                return 200, self.batches.cancel(job_id)
            if not cancel and method == "GET":
                self._stats.request("batches.get")
                return 200, self.batches.get(job_id)
            if not cancel and method == "DELETE":
                self._stats.request("batches.delete")
                return 200, self.batches.delete(job_id)
        raise ApiError(404, "NOT_FOUND", f"Method {method} {path} is not served by the Gemini emulator.")


def _model_json(name: str) -> dict:
    limits = model_limits(name)
    return {
        "name": f"models/{name}",
        "version": "001",
        "displayName": f"{name} (emulated)",
        "description": "Gemini emulator model: an offline test double, not the real model.",
        "inputTokenLimit": limits.input_token_limit,
        "outputTokenLimit": limits.output_token_limit,
        "supportedGenerationMethods": ["generateContent", "countTokens", "batchGenerateContent"],
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GeminiEmulator/1.0"
    emu: GeminiEmulator

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug("emulator: " + format, *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            if url.path.startswith("/_emulator/"):
                return self._send(200, self._internal(method, url.path, raw))
            if self.emu.config.require_api_key and not (
                self.headers.get("x-goog-api-key") or query.get("key")
            ):
                raise ApiError(
                    403,
                    "PERMISSION_DENIED",
                    "Method doesn't allow unregistered callers (callers without established identity). "
                    "Please use API Key or other form of API consumer identity to call this API.",
                )
            fault = self.emu._take_fault(url.path)
            if fault is not None:
                raise fault
            body = None
            if raw:
                try:
                    body = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise ApiError(400, "INVALID_ARGUMENT", f"Invalid JSON payload received. {exc}") from None
                if not isinstance(body, dict):
                    raise ApiError(
                        400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object."
                    )
            code, out = self.emu.dispatch(method, url.path, query, body, len(raw))
            if url.path.endswith(":streamGenerateContent") and query.get("alt") == ["sse"]:
                return self._send_sse(out)
            self._send(code, out)
        except ApiError as exc:
            self.emu._stats.error(exc.status)
            self._send(exc.code, exc.body())
        except Exception as exc:  # keep the server up; answer like the API's 500
            log.exception("emulator internal error")
            self.emu._stats.error("INTERNAL")
            self._send(500, ApiError(500, "INTERNAL", f"emulator internal error: {exc!r}").body())

    def _internal(self, method: str, path: str, raw: bytes) -> dict:
        if path == "/_emulator/stats":
            return self.emu.stats()
        if path == "/_emulator/health":
            return {"ok": True}
        if path == "/_emulator/faults" and method == "POST":
            spec = json.loads(raw or b"{}")
            self.emu.inject_fault(
                int(spec.get("code", 500)), int(spec.get("count", 1)), str(spec.get("match", ""))
            )
            return {"ok": True}
        if path == "/_emulator/faults" and method == "DELETE":
            self.emu.clear_faults()
            return {"ok": True}
        raise ApiError(404, "NOT_FOUND", f"Unknown emulator path {path}")

    def _send(self, code: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_sse(self, payload: dict) -> None:
        data = f"data: {json.dumps(payload)}\r\n\r\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve_forever(config: EmulatorConfig) -> None:
    """Run the emulator in the foreground until interrupted (for `media-pipeline emulator --port N`)."""
    emu = GeminiEmulator(config)
    server = emu._bind()
    print(f"Gemini emulator (offline test double, not the real API) on {emu.base_url}", flush=True)
    print(f"  export GOOGLE_GEMINI_BASE_URL={emu.base_url} GEMINI_API_KEY=emulator", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emu.batches.stop()
        server.server_close()
