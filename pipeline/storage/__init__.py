"""S3 access: one client class owning boto3, errors translated at the boundary; the destination's layout
of staging areas and ledgers."""

from pipeline.storage.layout import S3Layout
from pipeline.storage.s3 import S3Location, S3Store

__all__ = ["S3Layout", "S3Location", "S3Store"]
