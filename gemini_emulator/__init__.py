"""Gemini emulator: a local HTTP server speaking the Gemini REST API. An OFFLINE TEST DOUBLE.

It is not Gemini and understands nothing: it decodes the media it receives (scene colours, loud/silent
audio, image size and colours), shapes that into the requested response schema, and bills tokens by the
documented per-modality rules in `pipeline.catalog`, thought tokens included (thinking.py). Models are
served, routed or answered 404 by their catalog lifecycle (lifecycle.py). It also serves the Files API,
JSONL batches and context caches, and can rate-limit and inject faults, continuation included (see
config.py and faults.py).

Its own package: it depends on the catalog (`pipeline.catalog`) and third-party libraries only, never on
the pipeline that calls it, so it answers what a request carries, not what the pipeline meant. Serve it
with `python -m gemini_emulator --port 8765` (or `media-pipeline emulator`), or in-process with the
real SDK:

    with GeminiEmulator() as emu:
        client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=emu.base_url))
"""

from .config import EmulatorConfig
from .faults import FaultSpec
from .server import GeminiEmulator, serve_forever

__all__ = ["EmulatorConfig", "FaultSpec", "GeminiEmulator", "serve_forever"]
