"""Continuation of an answer across requests in the Gemini emulator (an OFFLINE TEST DOUBLE).

The `continuation` content fault ends a sync answer early: the candidate carries the first part of the
text, finishReason CONTINUATION and an opaque `continuationToken` (bytes, base64 in JSON). The same
request sent again with that token at the top level (`continuationToken`: what google-genai's automatic
continuation sends) answers the rest with STOP. Every hop bills its prompt again, as the service does;
thoughts are spent once, on the first hop. A token is bound to the request it was issued for (model,
contents, config) and is checked: an unknown token, or one sent with another request, answers 400.
Tokens stay valid until reset (a retried hop may send one twice). Batch has no continuation: there the
fault leaves the item with finishReason CONTINUATION, partial text and no token.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from pipeline.catalog import model_info

from .wire import bad_request, decode_b64

if TYPE_CHECKING:
    from .generate import Generated

TOKEN_BYTES = 24
KEEP_TOKENS = 1000  # the oldest tokens are forgotten beyond this many (memory bound)


class ContinuationStore:
    """Issued tokens -> (request fingerprint, answering model, rest of the answer); thread-safe."""

    def __init__(self) -> None:
        self._pending: OrderedDict[bytes, tuple[str, str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, fingerprint: str, model: str, rest: str) -> str:
        token = secrets.token_bytes(TOKEN_BYTES)
        with self._lock:
            self._pending[token] = (fingerprint, model, rest)
            while len(self._pending) > KEEP_TOKENS:
                self._pending.popitem(last=False)
        return base64.b64encode(token).decode("ascii")

    def resume(self, token_text: object, fingerprint: str, model: str) -> str:
        """The rest of the answer a token stands for; 400 for an unknown token or another request."""
        token = decode_b64(token_text, "continuation_token")
        with self._lock:
            entry = self._pending.get(token)
        if entry is None:
            raise bad_request("Invalid continuation_token: it was not issued by this service or has expired.")
        if entry[:2] != (fingerprint, model):
            raise bad_request(
                "Invalid continuation_token: it belongs to another request (send the same model, contents "
                "and config as the request that returned it)."
            )
        return entry[2]

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()


def split_answer(gen: Generated, store: ContinuationStore | None) -> bool:
    """End a finished answer halfway with CONTINUATION (and a token when `store`); False if it cannot."""
    text = gen.text
    if not text or len(text) < 2 or gen.candidate.get("finishReason") != "STOP":
        return False
    half = len(text) // 2
    first, rest = text[:half], text[half:]
    gen.set_answer(first, "CONTINUATION", model_info(gen.model).rules.tokens.text_tokens(first))
    if store is not None:
        gen.candidate["continuationToken"] = store.issue(gen.fingerprint, gen.model, rest)
    return True
