"""S3 access: one client class owning boto3, every call's errors translated at the boundary (one table,
`s3_errors`); the connection it is built from, resolved at the edge; the destination's layout of staging
areas and ledgers."""

from pipeline.storage.connection import CredentialNames, S3Connection
from pipeline.storage.layout import S3Layout
from pipeline.storage.redact import redact_signed_urls
from pipeline.storage.s3 import S3Location, S3Store

__all__ = ["CredentialNames", "S3Connection", "S3Layout", "S3Location", "S3Store", "redact_signed_urls"]
