"""Probe, plan and prepare media: ffprobe/ffmpeg and Pillow behind typed functions."""

from pipeline.media.plan import (
    plan_for_run,
    plan_media,
    prepared_image_size,
    prepared_video_size,
    source_settings,
    split_chunks,
)
from pipeline.media.prepare import prepare_media
from pipeline.media.probe import check_head, probe, verify_decodable
from pipeline.media.sniff import SNIFF_BYTES, sniff

__all__ = [
    "SNIFF_BYTES",
    "check_head",
    "plan_for_run",
    "plan_media",
    "prepare_media",
    "prepared_image_size",
    "prepared_video_size",
    "probe",
    "sniff",
    "source_settings",
    "split_chunks",
    "verify_decodable",
]
