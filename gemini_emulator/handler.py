"""HTTP plumbing of the Gemini emulator (an OFFLINE TEST DOUBLE): request parsing, auth, uploads, replies.

API requests need `x-goog-api-key` (or `?key=`), except the upload chunks that go to the session URL the
start request handed out (the URL carries the `upload_id`, as with the real resumable protocol; the SDK
sends no API key there). Every API request is recorded (bodies with long strings clipped) for
GET /_emulator/requests.
"""

from __future__ import annotations

import json
import logging
import re
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from .wire import ApiError, Json, Reply

if TYPE_CHECKING:
    from .server import GeminiEmulator

log = logging.getLogger(__name__)
_UPLOAD = re.compile(r"^/upload/(v1|v1beta|v1alpha)/files$")
_CLIP = 200


class DropConnection(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Hold the connection `hold_s` seconds, then close it without answering (the `timeout` fault)."""

    def __init__(self, hold_s: float) -> None:
        super().__init__(hold_s)
        self.hold_s = hold_s


def clip(obj: Any, limit: int | None = _CLIP) -> Any:
    """A copy of a JSON value with strings longer than `limit` characters replaced by '<N chars>'
    (None: the value itself)."""
    if limit is None:
        return obj
    if isinstance(obj, dict):
        return {k: clip(v, limit) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clip(v, limit) for v in obj]
    if isinstance(obj, str) and len(obj) > limit:
        return f"<{len(obj)} chars>"
    return obj


class Handler(BaseHTTPRequestHandler):
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

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        emu = self.emu
        extra: dict[str, str] = {}
        try:
            if url.path.startswith("/_emulator/"):
                return self._reply(Reply(body=self._internal(method, url.path, raw)))
            upload = _UPLOAD.match(url.path)
            if upload and method == "POST" and query.get("upload_id"):
                extra = {"X-Goog-Upload-Status": "final"}  # errors end the upload
                return self._chunk(url.path, query["upload_id"][0], headers, raw)
            self._check_key(headers, query)
            fault = emu.faults.take_manual(url.path)
            if fault is not None:
                raise fault
            body = self._json(raw)
            entry = {
                "t": time.time(),
                "method": method,
                "path": url.path,
                "body": clip(body, emu.config.request_log_clip),
            }
            if upload:
                entry["headers"] = {k: v for k, v in headers.items() if k.startswith("x-goog-upload")}
            emu._stats.record(entry)
            if upload and method == "POST":
                emu._stats.request("files.upload_start")
                hdrs = emu.files.start_upload(upload.group(1), body, headers)
                return self._reply(Reply(raw=b"", headers=hdrs))
            reply = emu.dispatch(method, url.path, query, body, len(raw))
            if url.path.endswith(":streamGenerateContent") and query.get("alt") == ["sse"]:
                return self._send_sse(reply.body or {})
            self._reply(reply)
        except DropConnection as drop:
            time.sleep(drop.hold_s)
            self.close_connection = True  # closed without an answer: the client sees a transport error
        except ApiError as exc:
            emu._stats.error(exc.status, exc.code)
            self._reply(Reply(exc.code, exc.body(), headers=extra))
        except Exception as exc:  # keep the server up; answer like the API's 500
            log.exception("emulator internal error")
            emu._stats.error("INTERNAL", 500)
            self._reply(Reply(500, ApiError(500, "INTERNAL", f"emulator internal error: {exc!r}").body()))

    def _check_key(self, headers: dict[str, str], query: Json) -> None:
        key = headers.get("x-goog-api-key") or query.get("key")
        if self.emu.config.require_api_key and not key:
            raise ApiError(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API.",
            )
        accepted = self.emu.config.api_keys
        if accepted is not None and key not in accepted:
            # What the service answers a key it does not know (an ErrorInfo with API_KEY_INVALID).
            raise ApiError(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    }
                ],
            )

    @staticmethod
    def _json(raw: bytes) -> Json | None:
        if not raw:
            return None
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(400, "INVALID_ARGUMENT", f"Invalid JSON payload received. {exc}") from None
        if not isinstance(body, dict):
            raise ApiError(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.")
        return body

    def _chunk(self, path: str, upload_id: str, headers: dict[str, str], raw: bytes) -> None:
        emu = self.emu
        command = headers.get("x-goog-upload-command", "")
        emu._stats.record(
            {
                "t": time.time(),
                "method": "POST",
                "path": path,
                "headers": {k: v for k, v in headers.items() if k.startswith("x-goog-upload")},
                "bytes": len(raw),
            }
        )
        out = emu.files.upload_chunk(upload_id, headers, raw)
        if out is None:
            return self._reply(Reply(raw=b"", headers={"X-Goog-Upload-Status": "active"}))
        emu._stats.request("files.upload")
        log.debug("upload %s finalized (%s)", upload_id, command)
        self._reply(Reply(body=out, headers={"X-Goog-Upload-Status": "final"}))

    def _internal(self, method: str, path: str, raw: bytes) -> Json:
        emu = self.emu
        if path == "/_emulator/stats" and method == "GET":
            return emu.stats()
        if path == "/_emulator/requests" and method == "GET":
            return {"requests": emu.recorded_requests()}
        if path == "/_emulator/health":
            return {"ok": True}
        if path == "/_emulator/reset" and method == "POST":
            emu.reset()
            return {"ok": True}
        if path == "/_emulator/faults" and method == "POST":
            spec = json.loads(raw or b"{}")
            if "spec" in spec:
                try:
                    emu.set_faults(spec["spec"])
                except ValueError as exc:
                    raise ApiError(400, "INVALID_ARGUMENT", str(exc)) from None
            else:
                emu.inject_fault(
                    int(spec.get("code", 500)),
                    int(spec.get("count", 1)),
                    str(spec.get("match", "")),
                    daily=bool(spec.get("daily", False)),
                )
            return {"ok": True}
        if path == "/_emulator/faults" and method == "DELETE":
            emu.clear_faults()
            return {"ok": True}
        raise ApiError(404, "NOT_FOUND", f"Unknown emulator path {method} {path}")

    def _reply(self, reply: Reply) -> None:
        if reply.raw is not None:
            data, ctype = reply.raw, reply.content_type
        else:
            data, ctype = (
                json.dumps(reply.body if reply.body is not None else {}).encode(),
                Reply.content_type,
            )
        self.send_response(reply.code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_sse(self, payload: Json) -> None:
        data = f"data: {json.dumps(payload)}\r\n\r\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(emu: GeminiEmulator, host: str, port: int) -> ThreadingHTTPServer:
    """Bind (not yet serve) a threading HTTP server whose handler talks to `emu`."""

    class BoundHandler(Handler):
        pass

    BoundHandler.emu = emu
    server = ThreadingHTTPServer((host, port), BoundHandler)
    server.daemon_threads = True
    return server
