#!/usr/bin/env bash
# ffmpeg and ffprobe from the system packages; installed with apt-get when missing.
set -euo pipefail
if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: ffmpeg/ffprobe are missing and I cannot install them without root." >&2
    echo "       install them yourself: sudo apt-get install -y ffmpeg   (or: brew install ffmpeg)" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: ffmpeg/ffprobe are missing and this is not a Debian/Ubuntu system: install ffmpeg with your package manager" >&2
  exit 1
fi
echo "installing ffmpeg with apt-get ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ffmpeg >/dev/null
command -v ffprobe >/dev/null 2>&1 || { echo "error: apt-get ran but ffprobe is still missing" >&2; exit 1; }
