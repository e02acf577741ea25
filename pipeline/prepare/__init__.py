"""prepare: one ffmpeg pass per source writes every chunk (downscaled, at the planned frame rate, the
sound as the plan says); the chunks go to the content-keyed staging area in S3."""

from pipeline.prepare.one_pass import prepare_media
from pipeline.prepare.stage import prepare_item, stage_prepare

__all__ = ["prepare_item", "prepare_media", "stage_prepare"]
