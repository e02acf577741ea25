"""Media by signed URL: which requests carry a pre-signed GET URL of their staged chunk instead of its
bytes, and how long such a URL lives.

Gemini 3.x fetches an external HTTPS URL itself (up to 100 MB per request, Batch included:
pipeline/catalog/models.json, `media_url` and `transport`), so the chunks already in staging need no
upload and no inline bytes. A URL is a bearer credential: it is signed only for objects under the
layout's signable prefix (S3Store.presign_get refuses the rest), made when the request is built (a retry
gets a fresh one), and never stored."""

from __future__ import annotations

from pipeline.catalog import model_info, transport_limits
from pipeline.errors import ConfigError
from pipeline.storage import S3Layout, S3Location, S3Store

# After the service's batch expiry, the margin a URL keeps: a job created a little after signing (create
# retries, the JSONL upload) can still read its media in its last minutes.
BATCH_URL_MARGIN_S = 3600
# A synchronous request (and its in-call retries) is over in minutes; a retry round re-signs.
SYNC_URL_EXPIRES_S = 3600


def batch_url_expires_s() -> int:
    """A batch job can run until the service expires it (48 h): its URLs outlive that, and no longer."""
    return int(transport_limits().batch_job_expiry_hours * 3600) + BATCH_URL_MARGIN_S


def takes_url(model: str) -> bool:
    return model_info(model).rules.media_url.accepted


def by_url(transport: str, model: str, chunk_bytes: int) -> bool:
    """Whether a request of `chunk_bytes` to `model` carries a signed URL under the `transport` setting.
    Over the URL fetch limit a chunk goes as bytes (the Files API in a batch)."""
    if transport not in ("auto", "url") or not takes_url(model):
        return False
    return chunk_bytes <= transport_limits().url_request_max_bytes


def check_url_transport(transport: str, model: str) -> None:
    """transport=url asks for URLs explicitly: a run model that cannot fetch them is a configuration error,
    said before anything is paid."""
    if transport == "url" and not takes_url(model):
        raise ConfigError(
            f"transport=url, but {model} does not take media by URL (pipeline/catalog/models.json, its "
            "family's media_url): use transport=auto, inline or files"
        )


def sign(store: S3Store, dest: S3Location, chunk_uri: str, expires_s: int) -> str:
    """A pre-signed GET URL of one staged chunk (refused outside the destination's signable prefix)."""
    return store.presign_get(S3Location.parse(chunk_uri), expires_s, within=S3Layout(dest).signable())
