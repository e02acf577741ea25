"""python -m gemini_emulator [--host H] [--port N]: serve the Gemini emulator (an OFFLINE TEST DOUBLE of
the Gemini REST API, not Gemini) in the foreground until Ctrl-C. Point the google-genai SDK at it with
GOOGLE_GEMINI_BASE_URL=http://H:N (any API key). Its behaviour is set by the GEMINI_EMULATOR_* variables
listed in gemini_emulator/config.py."""

from __future__ import annotations

import argparse

from .config import EmulatorConfig
from .server import serve_forever


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gemini_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    serve_forever(EmulatorConfig(host=args.host, port=args.port))


if __name__ == "__main__":
    main()
