"""Media: what a file is (sniff), what ffprobe reads of it (probe, profile), behind typed functions."""

from pipeline.media.probe import check_head, probe, verify_decodable
from pipeline.media.sniff import SNIFF_BYTES, sniff

__all__ = ["SNIFF_BYTES", "check_head", "probe", "sniff", "verify_decodable"]
