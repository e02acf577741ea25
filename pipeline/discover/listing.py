"""List `<source>/dt=YYYY-MM-DD/` and sniff each object's first bytes (content, not extension)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

from pipeline.media.sniff import SNIFF_BYTES, sniff
from pipeline.models import SourceObject
from pipeline.storage import S3Location, S3Store

_IGNORED_SUFFIXES = ("/", "_SUCCESS", ".crc")
# Ranged GETs of the first bytes in flight at once: waiting on S3, not computing (boto3 clients are
# thread-safe); a 100,000-object night lists in minutes, not one round trip after another.
HEAD_READS_IN_FLIGHT = 16


def date_prefix(source: S3Location, dt: date) -> S3Location:
    return source.join(f"dt={dt.isoformat()}")


def discover(
    store: S3Store, source: S3Location, dt: date, *, max_items: int | None = None
) -> list[SourceObject]:
    """Every object under the date's partition, sorted by key; hidden files and markers skipped."""
    return [obj for obj, _ in discover_with_heads(store, source, dt, max_items=max_items)]


def discover_with_heads(
    store: S3Store, source: S3Location, dt: date, *, max_items: int | None = None
) -> list[tuple[SourceObject, bytes]]:
    """`discover`, each object with the first bytes it was sniffed from (one ranged GET per object, read
    once: whoever looks at the head next reuses these)."""
    prefix = date_prefix(source, dt)
    listed: list[tuple[S3Location, int, str]] = []
    for obj in sorted(store.list(prefix), key=lambda o: o["Key"]):
        key = obj["Key"]
        name = key.rsplit("/", 1)[-1]
        if key.endswith(_IGNORED_SUFFIXES) or name.startswith("."):
            continue
        listed.append((S3Location(prefix.bucket, key), int(obj["Size"]), str(obj.get("ETag", "")).strip('"')))
        if max_items is not None and len(listed) >= max_items:
            break

    def head(entry: tuple[S3Location, int, str]) -> bytes:
        loc, size, _ = entry
        return store.get_bytes(loc, (0, SNIFF_BYTES - 1)) if size else b""

    with ThreadPoolExecutor(HEAD_READS_IN_FLIGHT) as threads:
        heads = list(threads.map(head, listed))
    found: list[tuple[SourceObject, bytes]] = []
    for (loc, size, etag), first in zip(listed, heads, strict=True):
        media_type, mime = sniff(first)
        source_obj = SourceObject(
            uri=loc.uri,
            key=loc.key,
            bytes=size,
            etag=etag,
            sha256="",  # filled when the bytes are read (plan stage): one read per object
            sniffed_type=media_type,
            sniffed_mime=mime,
        )
        found.append((source_obj, first))
    return found
