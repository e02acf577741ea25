"""The emulator's thoughts depend on what a request asks and shows, not on where its media lives: the same
chunk by two signed URLs (they differ on every signing) or two Files API names thinks alike, as the same
inline bytes always did. A run through Celery and the same run in one process bill the same."""

from __future__ import annotations

from gemini_emulator.generate import thinking_seed


def _body(uri: str) -> dict:
    return {
        "contents": [{"role": "user", "parts": [{"text": "describe"}, {"fileData": {"fileUri": uri, "mimeType": "audio/ogg"}}]}],
        "generationConfig": {"maxOutputTokens": 900},
    }  # fmt: skip


def test_the_same_content_by_another_url_thinks_alike_and_other_content_does_not() -> None:
    a = "http://s3/out-a/_staging/chunks/x/c000.ogg?X-Amz-Date=20261202T040000Z&X-Amz-Signature=aa"
    b = "http://s3/out-b/_staging/chunks/x/c000.ogg?X-Amz-Date=20261202T041500Z&X-Amz-Signature=bb"
    model = "gemini-3.8-flash"
    assert thinking_seed(model, _body(a), {a: "h1"}) == thinking_seed(model, _body(b), {b: "h1"})
    assert thinking_seed(model, _body(a), {a: "h1"}) != thinking_seed(model, _body(b), {b: "h2"})
    # the room given does not change the thinking either
    tighter = {**_body(a), "generationConfig": {"maxOutputTokens": 100}}
    assert thinking_seed(model, tighter, {a: "h1"}) == thinking_seed(model, _body(a), {a: "h1"})
