"""Media: what a file is (sniff), what ffprobe or Pillow reads of it (probe, profile, still), behind typed
functions; the one runner that starts ffmpeg/ffprobe (ffmpeg.FFmpeg)."""

from pipeline.media.ffmpeg import FFmpeg, default_ffmpeg
from pipeline.media.probe import check_head, probe, verify_decodable
from pipeline.media.sniff import SNIFF_BYTES, sniff

__all__ = ["SNIFF_BYTES", "FFmpeg", "check_head", "default_ffmpeg", "probe", "sniff", "verify_decodable"]
