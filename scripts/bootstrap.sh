#!/usr/bin/env bash
# Make a fresh clone runnable: Python 3.11+, uv, the locked virtualenv in .venv (with the `offline` extra:
# moto's S3 server and DuckDB, which the demo, the tests and the bench run on), ffmpeg/ffprobe.
set -euo pipefail
cd "$(dirname "$0")/.."

pick_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

PYTHON=$(pick_python) || { echo "error: Python 3.11 or newer is needed (apt-get install python3)" >&2; exit 1; }

UV=$(command -v uv || true)
if [ -z "$UV" ]; then
  if [ ! -x .tools/bin/uv ]; then
    echo "installing uv into .tools/ ..."
    "$PYTHON" -m venv .tools
    .tools/bin/pip install --quiet --disable-pip-version-check uv
  fi
  UV=.tools/bin/uv
fi

if [ ! -f .venv/.synced ] || [ uv.lock -nt .venv/.synced ] || [ pyproject.toml -nt .venv/.synced ]; then
  echo "syncing .venv from uv.lock ..."
  "$UV" sync --frozen --extra offline --compile-bytecode --python "$PYTHON"
  touch .venv/.synced
fi

scripts/ensure-ffmpeg.sh
