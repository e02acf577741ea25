"""Files API of the Gemini emulator (an OFFLINE TEST DOUBLE): in-memory store, resumable upload.

Upload (what `client.files.upload` does): `POST /upload/{ver}/files` with `X-Goog-Upload-Protocol:
resumable`, `X-Goog-Upload-Command: start`, `X-Goog-Upload-Header-Content-Length/-Type` and body
`{"file": {...}}` -> 200, empty body, headers `X-Goog-Upload-URL` (absolute, carries `upload_id`) and
`X-Goog-Upload-Status: active`. Then POSTs of raw bytes to that URL with `X-Goog-Upload-Command: upload`
(last one `upload, finalize`) and `X-Goog-Upload-Offset`; the final answer has `X-Goog-Upload-Status:
final` and body `{"file": File}`. Errors during the upload answer with `X-Goog-Upload-Status: final` too,
so the SDK stops and raises the APIError.

Video files are PROCESSING for `processing_s` after upload, then ACTIVE; other files are ACTIVE at once.
Files expire after `ttl_s` (48 h). Only GENERATED files (batch results) can be downloaded, like the API.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.catalog import transport_limits

from .wire import ApiError, Json, bad_request, exhausted, normalise, ts

_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
_URI_ID = re.compile(r"files/([a-z0-9-]+)")


def _denied(ref: str) -> ApiError:
    return ApiError(
        403, "PERMISSION_DENIED", f"You do not have permission to access the File {ref} or it may not exist."
    )


@dataclass
class StoredFile:
    id: str
    mime_type: str
    data: bytes
    version: str
    display_name: str = ""
    source: str = "UPLOADED"  # or GENERATED
    processing_s: float = 0.0
    created: float = field(default_factory=time.time)
    created_mono: float = field(default_factory=time.monotonic)

    @property
    def name(self) -> str:
        return f"files/{self.id}"

    def state(self) -> str:
        if self.mime_type.startswith("video/") and time.monotonic() - self.created_mono < self.processing_s:
            return "PROCESSING"
        return "ACTIVE"


@dataclass
class Upload:
    id: str
    file_id: str
    mime_type: str
    size: int | None
    display_name: str
    version: str
    buf: bytearray = field(default_factory=bytearray)


class FileStore:
    """Thread-safe in-memory Files API store with a total byte cap."""

    def __init__(
        self, base_url: Callable[[], str], processing_s: float, max_bytes: int, ttl_s: float = 48 * 3600.0
    ) -> None:
        self._base_url = base_url
        self.processing_s, self.max_bytes, self.ttl_s = processing_s, max_bytes, ttl_s
        self._files: dict[str, StoredFile] = {}
        self._uploads: dict[str, Upload] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ upload

    def start_upload(self, version: str, body: Json | None, headers: dict[str, str]) -> dict[str, str]:
        if (headers.get("x-goog-upload-protocol") or "").lower() != "resumable":
            raise bad_request(
                "Only the resumable upload protocol is served (X-Goog-Upload-Protocol: resumable)."
            )
        if (headers.get("x-goog-upload-command") or "").lower() != "start":
            raise bad_request("The first request of a resumable upload needs X-Goog-Upload-Command: start.")
        meta = normalise((body or {}).get("file") or {})
        mime = headers.get("x-goog-upload-header-content-type") or meta.get("mimeType") or ""
        if not mime:
            raise bad_request("* CreateFileRequest.file.mime_type: mime_type is not specified")
        size_text = headers.get("x-goog-upload-header-content-length") or meta.get("sizeBytes")
        size = int(size_text) if size_text not in (None, "") else None
        limit = transport_limits().files_api_max_bytes
        if size is not None and size > limit:
            raise bad_request(f"File size {size} exceeds the maximum of {limit} bytes per file.")
        file_id = str(meta.get("name") or "").removeprefix("files/") or secrets.token_hex(6)
        if not _ID.match(file_id):
            raise bad_request(f"* CreateFileRequest.file.name: invalid file id {file_id!r}")
        with self._lock:
            self._purge()
            if file_id in self._files:
                raise ApiError(409, "ALREADY_EXISTS", f"File files/{file_id} already exists.")
            self._check_room(size or 0)
            upload = Upload(
                secrets.token_urlsafe(16), file_id, mime, size, str(meta.get("displayName") or ""), version
            )
            self._uploads[upload.id] = upload
        url = f"{self._base_url()}/upload/{version}/files?upload_id={upload.id}&upload_protocol=resumable"
        return {
            "X-Goog-Upload-URL": url,
            "X-Goog-Upload-Status": "active",
            "X-Goog-Upload-Chunk-Granularity": "8388608",
        }

    def upload_chunk(self, upload_id: str, headers: dict[str, str], data: bytes) -> Json | None:
        """One chunk; returns the `{"file": ...}` body on finalize, None while the upload stays active."""
        commands = {c.strip() for c in (headers.get("x-goog-upload-command") or "").lower().split(",")}
        with self._lock:
            upload = self._uploads.get(upload_id)
            if upload is None:
                raise ApiError(404, "NOT_FOUND", f"Unknown or finished upload session {upload_id}.")
            if "cancel" in commands:
                del self._uploads[upload_id]
                raise ApiError(499, "CANCELLED", "The upload was cancelled.")
            offset = int(headers.get("x-goog-upload-offset") or len(upload.buf))
            if offset != len(upload.buf):
                raise bad_request(
                    f"Upload offset {offset} does not match the {len(upload.buf)} bytes received."
                )
            self._check_room(len(data))
            upload.buf += data
            if "finalize" not in commands:
                return None
            del self._uploads[upload_id]
            if upload.size is not None and upload.size != len(upload.buf):
                raise bad_request(f"Upload declared {upload.size} bytes but {len(upload.buf)} were received.")
            f = StoredFile(
                upload.file_id,
                upload.mime_type,
                bytes(upload.buf),
                upload.version,
                upload.display_name,
                processing_s=self.processing_s,
            )
            self._files[f.id] = f
        return {"file": self.render(f)}

    def add_generated(
        self, data: bytes, mime_type: str, display_name: str, version: str = "v1beta"
    ) -> StoredFile:
        f = StoredFile(secrets.token_hex(6), mime_type, data, version, display_name, source="GENERATED")
        with self._lock:
            self._files[f.id] = f
        return f

    def _check_room(self, extra: int) -> None:
        used = sum(len(f.data) for f in self._files.values()) + sum(
            len(u.buf) for u in self._uploads.values()
        )
        if used + extra > self.max_bytes:
            raise exhausted(
                f"File storage quota exceeded: {used + extra} > {self.max_bytes} bytes (emulator cap).", 60
            )

    def _purge(self) -> None:
        now = time.time()
        for fid in [fid for fid, f in self._files.items() if now - f.created > self.ttl_s]:
            del self._files[fid]

    # ------------------------------------------------------------ API operations

    def _get(self, ref: str) -> StoredFile:
        m = _URI_ID.search(ref)
        file_id = m.group(1) if m else ref
        with self._lock:
            self._purge()
            f = self._files.get(file_id)
        if f is None:
            raise _denied(ref)
        return f

    def get(self, file_id: str) -> Json:
        return self.render(self._get(file_id))

    def delete(self, file_id: str) -> Json:
        f = self._get(file_id)
        with self._lock:
            self._files.pop(f.id, None)
        return {}

    def list(self, page_size: int = 10, page_token: str | None = None) -> Json:
        with self._lock:
            self._purge()
            files = sorted(self._files.values(), key=lambda f: f.created, reverse=True)
        start = int(page_token) if page_token and page_token.isdigit() else 0
        size = max(1, min(page_size or 10, 100))
        out: Json = {"files": [self.render(f) for f in files[start : start + size]]}
        if start + size < len(files):
            out["nextPageToken"] = str(start + size)
        return out

    def download(self, file_id: str) -> tuple[bytes, str]:
        f = self._get(file_id)
        if f.source != "GENERATED":
            raise bad_request(
                f"Only generated files can be downloaded; {f.name} was uploaded (source UPLOADED) and "
                "cannot be downloaded back."
            )
        return f.data, f.mime_type

    def owns(self, uri: str) -> bool:
        """Whether a fileUri names a file of this store (the service tells its own file URIs from
        external URLs by host: here, by the emulator's base URL)."""
        return not uri.startswith(("http://", "https://")) or uri.startswith(self._base_url() + "/")

    def lookup(self, ref: str) -> tuple[bytes, str]:
        """Bytes of an ACTIVE file for a `fileData` part or a JSONL batch source."""
        f = self._get(ref)
        if f.state() != "ACTIVE":
            raise ApiError(
                400,
                "FAILED_PRECONDITION",
                f"The File {f.id} is not in an ACTIVE state and usage is not allowed.",
            )
        return f.data, f.mime_type

    def usage(self) -> Json:
        with self._lock:
            files = list(self._files.values())
        return {
            "count": len(files),
            "bytes": sum(len(f.data) for f in files),
            "uploaded": sum(1 for f in files if f.source == "UPLOADED"),
            "generated": sum(1 for f in files if f.source == "GENERATED"),
            "names": [f.name for f in files],
        }

    def clear(self) -> None:
        with self._lock:
            self._files.clear()
            self._uploads.clear()

    def render(self, f: StoredFile) -> Json:
        base = f"{self._base_url()}/{f.version}/files/{f.id}"
        out = {
            "name": f.name,
            "mimeType": f.mime_type,
            "sizeBytes": str(len(f.data)),
            "createTime": ts(f.created),
            "updateTime": ts(f.created),
            "expirationTime": ts(f.created + self.ttl_s),
            "sha256Hash": base64.b64encode(hashlib.sha256(f.data).hexdigest().encode()).decode(),
            "uri": base,
            "state": f.state(),
            "source": f.source,
        }
        if f.display_name:
            out["displayName"] = f.display_name
        if f.source == "GENERATED":
            out["downloadUri"] = f"{base}:download?alt=media"
        return out
