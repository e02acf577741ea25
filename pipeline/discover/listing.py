"""List `<source>/dt=YYYY-MM-DD/` and sniff each object's first bytes (content, not extension)."""

from __future__ import annotations

from datetime import date

from pipeline.media.sniff import SNIFF_BYTES, sniff
from pipeline.models import SourceObject
from pipeline.storage import S3Location, S3Store

_IGNORED_SUFFIXES = ("/", "_SUCCESS", ".crc")


def date_prefix(source: S3Location, dt: date) -> S3Location:
    return source.join(f"dt={dt.isoformat()}")


def discover(
    store: S3Store, source: S3Location, dt: date, *, max_items: int | None = None
) -> list[SourceObject]:
    """Every object under the date's partition, sorted by key; hidden files and markers skipped."""
    prefix = date_prefix(source, dt)
    found: list[SourceObject] = []
    for obj in sorted(store.list(prefix), key=lambda o: o["Key"]):
        key = obj["Key"]
        name = key.rsplit("/", 1)[-1]
        if key.endswith(_IGNORED_SUFFIXES) or name.startswith("."):
            continue
        loc = S3Location(prefix.bucket, key)
        head = store.get_bytes(loc, (0, SNIFF_BYTES - 1)) if obj["Size"] else b""
        media_type, mime = sniff(head)
        found.append(
            SourceObject(
                uri=loc.uri,
                key=key,
                bytes=int(obj["Size"]),
                etag=str(obj.get("ETag", "")).strip('"'),
                sha256="",  # filled when the bytes are read (plan stage): one read per object
                sniffed_type=media_type,
                sniffed_mime=mime,
            )
        )
        if max_items is not None and len(found) >= max_items:
            break
    return found
