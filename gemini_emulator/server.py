"""The Gemini emulator's HTTP server: an OFFLINE TEST DOUBLE of the Gemini REST API, not the real service.

It speaks enough of the Gemini Developer API (under /v1, /v1beta, /v1alpha) for the real google-genai SDK
to run against it through `HttpOptions(base_url=...)` or GOOGLE_GEMINI_BASE_URL: generateContent,
streamGenerateContent (one SSE event), countTokens, batchGenerateContent (inline or JSONL file), batches
get/list/cancel/delete, models get/list, the Files API (resumable upload, get/list/delete, download of
generated files) and cachedContents. Answers are computed from the media bytes received, tokens (media,
text, thoughts) are billed by the catalog's rules, models are served, routed or refused by their
lifecycle (lifecycle.py), and it is strict where the API is (error JSON with code/message/status).

Test hooks (not part of the API): GET /_emulator/stats (read-only counters), GET /_emulator/requests
(recent request bodies), POST /_emulator/faults ({"code", "count", "match", "daily"} or {"spec": {...}}),
DELETE /_emulator/faults, POST /_emulator/reset. Rate limits and random faults: see config.py/faults.py.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

from .batches import BatchStore
from .caches import CacheStore
from .config import EmulatorConfig
from .continuation import ContinuationStore
from .faults import Fault, FaultInjector, FaultSpec, RateLimiter, apply_content_fault, http_fault_error
from .files import FileStore
from .generate import Generated, Resources, count_tokens, generate
from .handler import DropConnection, serve
from .lifecycle import ModelRouter
from .url_media import UrlFetcher
from .usage import Stats
from .wire import ApiError, Json, Reply, normalise

log = logging.getLogger(__name__)

__all__ = ["EmulatorConfig", "GeminiEmulator", "serve_forever"]

_ROUTE = re.compile(r"^/(v1|v1beta|v1alpha)/(.+)$")
_MODEL_CALL = re.compile(
    r"^models/([^/:]+):(generateContent|streamGenerateContent|countTokens|batchGenerateContent)$"
)
_FILE = re.compile(r"^files/([a-z0-9-]+)(:download)?$")
_CACHE = re.compile(r"^cachedContents/([^/:]+)$")
_BATCH = re.compile(r"^batches/([^/:]+)(:cancel)?$")


class GeminiEmulator:
    """Local Gemini REST API test double. Use as a context manager or start()/stop()."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self._stats = Stats(self.config.request_log_size)
        self.faults = FaultInjector(FaultSpec.parse(self.config.faults))
        self.limiter = RateLimiter(self.config.rpm_limit, self.config.tpm_limit)
        self.files = FileStore(
            lambda: self.base_url,
            self.config.file_processing_s,
            self.config.files_max_bytes,
            self.config.file_ttl_s,
        )
        self.caches = CacheStore(self.config.cache_min_tokens)
        self.models = ModelRouter(
            self.config.routes, self.config.route_retired, self.config.unserved, self.config.today
        )
        self.continuations = ContinuationStore()
        self.res = Resources(
            files=self.files.lookup,
            owns_file=self.files.owns,
            caches=self.caches.lookup,
            models=self.models,
            continuations=self.continuations,
            urls=UrlFetcher(clock_offset_s=self.config.url_clock_offset_s),
        )
        self.batches = BatchStore(
            self.config.batch_pending_s,
            self.config.batch_running_s,
            on_result=lambda g: self._bill("batch", g),
            on_create=lambda name, n: self._stats.batch_created(name, n),
            files=self.files,
            res=self.res,
            faults=self.faults,
            on_fault=lambda kind: self._stats.fault(kind),
            enqueued_tokens=self.config.batch_enqueued_tokens,
            max_jobs=self.config.batch_max_jobs,
        )
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def _bind(self) -> ThreadingHTTPServer:
        self._server = serve(self, self.config.host, self.config.port)
        return self._server

    def start(self) -> GeminiEmulator:
        if self._server is None:
            self.batches.resume()
            server = self._bind()
            thread = threading.Thread(target=server.serve_forever, name="gemini-emulator", daemon=True)
            thread.start()
            self._thread = thread
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
        name = host.decode() if isinstance(host, bytes) else host  # the stub allows bytes (AF_UNIX addresses)
        return f"http://{name}:{port}"

    def stats(self) -> Json:
        out = self._stats.snapshot()
        out["files"] = self.files.usage()
        out["caches"] = self.caches.usage()
        out["urls"] = self.res.urls.usage()
        out["batch_caps"] = self.batches.cap_usage()
        return out

    def recorded_requests(self) -> list[Json]:
        """Recent API requests as received (method, path, upload headers, JSON body with long strings cut)."""
        return self._stats.recorded()

    # ------------------------------------------------------------ test hooks

    def inject_fault(
        self, code: int, count: int = 1, match: str = "", message: str | None = None, *, daily: bool = False
    ) -> None:
        """Answer the next `count` requests whose path contains `match` with HTTP `code`: 429 with
        RetryInfo, or the daily-quota 429 (no RetryInfo) with `daily=True`; 503 "The model is overloaded."."""
        with self.faults._lock:
            self.faults.manual.append(Fault(code, count, match, message, daily))

    def clear_faults(self) -> None:
        with self.faults._lock:
            self.faults.manual.clear()

    def set_faults(self, spec: Json | str | None) -> None:
        """Replace the random fault spec (and reseed); `batch_state` applies to batches that finish later."""
        self.faults.spec = FaultSpec.parse(spec)
        self.faults.reset()
        self.batches.final_state = f"BATCH_STATE_{self.faults.spec.batch_state}"
        self.batches.expire_next(self.faults.spec.batch_expire)

    def reset(self) -> None:
        """Forget all files, caches, batch jobs, continuation tokens, counters, rate windows and faults."""
        self.batches.clear()
        self.continuations.clear()
        self.files.clear()
        self.caches.clear()
        self.res.urls.clear()
        self.limiter.reset()
        self.faults.reset()
        self._stats = Stats(self.config.request_log_size)

    def _bill(self, mode: str, gen: Generated) -> None:
        self._stats.billed(mode, gen)

    # ------------------------------------------------------------ routing

    def dispatch(self, method: str, path: str, query: Json, body: Json | None, raw_size: int) -> Reply:
        m = _ROUTE.match(path)
        if not m:
            raise ApiError(404, "NOT_FOUND", f"Unknown path {path}")
        version, rest = m.groups()
        page = (query.get("pageSize") or [""])[0]
        page_size = int(page) if page.isdigit() else 0
        token = (query.get("pageToken") or [None])[0]
        call = _MODEL_CALL.match(rest)
        if call and method == "POST":
            model, verb = call.group(1), call.group(2)
            return Reply(body=self._model_call(model, verb, version, body or {}, raw_size))
        if rest == "models" and method == "GET":
            self._stats.request("models.list")
            return Reply(body=self.models.listing())
        if rest.startswith("models/") and method == "GET":
            self._stats.request("models.get")
            return Reply(body=self.models.model_json(self.models.serve(rest, version, "get")))
        if rest == "batches" and method == "GET":
            self._stats.request("batches.list")
            return Reply(body=self.batches.list(page_size or 50, token))
        if bm := _BATCH.match(rest):
            job_id, cancel = bm.groups()
            verb = {("POST", True): "cancel", ("GET", False): "get", ("DELETE", False): "delete"}.get(
                (method, bool(cancel))
            )
            if verb:
                self._stats.request(f"batches.{verb}")
                return Reply(body=getattr(self.batches, verb)(job_id))
        if rest == "files" and method == "GET":
            self._stats.request("files.list")
            return Reply(body=self.files.list(page_size or 10, token))
        if fm := _FILE.match(rest):
            file_id, download = fm.groups()
            if download and method == "GET":
                self._stats.request("files.download")
                data, mime = self.files.download(file_id)
                return Reply(raw=data, content_type=mime)
            if not download and method in ("GET", "DELETE"):
                self._stats.request(f"files.{method.lower()}")
                return Reply(body=(self.files.get if method == "GET" else self.files.delete)(file_id))
        if rest == "cachedContents":
            if method == "POST":
                self._stats.request("caches.create")
                return Reply(body=self.caches.create(body, version=version, res=self.res))
            if method == "GET":
                self._stats.request("caches.list")
                return Reply(body=self.caches.list(page_size or 50, token))
        if cm := _CACHE.match(rest):
            cache_id = cm.group(1)
            verb = {"GET": "get", "DELETE": "delete", "PATCH": "update"}.get(method)
            if verb:
                self._stats.request(f"caches.{verb}")
                if verb == "update":
                    return Reply(body=self.caches.update(cache_id, body))
                return Reply(body=getattr(self.caches, verb)(cache_id))
        raise ApiError(404, "NOT_FOUND", f"Method {method} {path} is not served by the Gemini emulator.")

    def _model_call(self, model: str, verb: str, version: str, body: Json, raw_size: int) -> Json:
        self._stats.request(verb, model)
        kind = self.faults.http_fault()
        if kind:
            self._stats.fault(kind)
            if kind == "timeout":
                raise DropConnection(self.faults.spec.timeout_s)
            raise http_fault_error(kind, model)
        if verb == "batchGenerateContent":
            if self.config.batch_create_latency_s > 0:
                time.sleep(self.config.batch_create_latency_s)
            return self.batches.create(model, body, version=version, raw_size=raw_size)
        self._throttle(self.limiter.admit, model)
        if verb == "countTokens":
            return count_tokens(model, normalise(body), version=version, res=self.res)
        if self.config.latency_s > 0:
            time.sleep(self.config.latency_s)
        gen = generate(model, normalise(body), version=version, raw_size=raw_size, res=self.res)
        self._throttle(self.limiter.charge, model, sum(gen.prompt_by_modality.values()))
        kind = self.faults.content_fault()
        if kind and apply_content_fault(kind, gen, self.continuations):
            self._stats.fault(kind)
        self._bill("sync", gen)
        return gen.response

    def _throttle(self, check: Callable[..., object], *args: Any) -> None:
        try:
            check(*args)
        except ApiError:
            self._stats.throttled()
            raise


def serve_forever(config: EmulatorConfig) -> None:
    """Run the emulator in the foreground until interrupted (`python -m gemini_emulator`, `media-pipeline emulator`)."""
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
