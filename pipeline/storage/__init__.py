"""S3 access: one client class owning boto3, errors translated at the boundary."""

from pipeline.storage.s3 import S3Location, S3Store

__all__ = ["S3Location", "S3Store"]
