"""Media: what a file is (sniff), what ffprobe or Pillow reads of it (probe, profile, still), behind typed
functions; the one runner that starts ffmpeg/ffprobe (ffmpeg.FFmpeg)."""

from pipeline.media.decodable import decode_warning, verify_decodable
from pipeline.media.ffmpeg import FFmpeg, default_ffmpeg
from pipeline.media.probe import check_head, probe
from pipeline.media.sniff import SNIFF_BYTES, sniff

__all__ = [
    "SNIFF_BYTES",
    "FFmpeg",
    "check_head",
    "decode_warning",
    "default_ffmpeg",
    "probe",
    "sniff",
    "verify_decodable",
]
