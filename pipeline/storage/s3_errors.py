"""Every S3 failure becomes one class of the error tree here, in one table, so retry vs fail is decided in
one place. Default deny: a code or exception no rule names becomes `UnclassifiedStorageError`, terminal,
with the original as `__cause__`; it is never retried as if transient.

Messages name the bucket, key, IAM action and the credential to fix (by where it is set, never its value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from boto3.exceptions import RetriesExceededError, S3UploadFailedError
from botocore.exceptions import (
    BotoCoreError,
    ChecksumError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    EndpointResolutionError,
    FlexibleChecksumError,
    IncompleteReadError,
    InvalidEndpointConfigurationError,
    InvalidRegionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ProxyConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
    SSLError,
    SSOError,
    TokenRetrievalError,
)

from pipeline.errors import (
    BucketNotFoundError,
    ConfigError,
    ObjectNotFoundError,
    PipelineError,
    StorageAccessError,
    StorageTransientError,
    UnclassifiedStorageError,
    WriteConflictError,
)
from pipeline.storage.connection import CredentialNames

# The classification table ------------------------------------------------------------------------
# Service answers (the error code S3 sends, or the bare HTTP status of a HEAD, which has no body).
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
        "OperationAborted",  # a conflicting operation on the same bucket is in progress: "try again"
        "PriorRequestNotComplete",
        "BandwidthLimitExceeded",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "EC2ThrottledException",
        "500",
        "502",
        "503",
        "504",
        "429",
    }
)
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
# code -> which credential the caller must fix ("policy": the permission, not the key)
ACCESS_CODES = {
    "AccessDenied": "policy",
    "403": "policy",
    "InvalidAccessKeyId": "access_key_id",
    "SignatureDoesNotMatch": "secret_access_key",
    "ExpiredToken": "session_token",
    "InvalidToken": "session_token",
    "TokenRefreshRequired": "session_token",
    "AccountProblem": "account",
    "AllAccessDisabled": "account",
}
BUCKET_MISSING_CODES = frozenset({"NoSuchBucket"})
KEY_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
# A conditional write lost a race: 412 when the condition failed, 409 when a concurrent conditional write
# to the same key was in progress. Callers of S3Store's conditional writes handle these, never a retry loop.
CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412"})
# Client-side failures: transport trouble is transient, configuration and credentials are not.
TRANSIENT_EXCEPTIONS: tuple[type[Exception], ...] = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
    ProxyConnectionError,
    ResponseStreamingError,
    IncompleteReadError,
    ChecksumError,
    FlexibleChecksumError,
    RetriesExceededError,
)
CREDENTIAL_EXCEPTIONS: tuple[type[Exception], ...] = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    TokenRetrievalError,
    SSOError,
)
CONFIG_EXCEPTIONS: tuple[type[Exception], ...] = (
    SSLError,  # a subclass of botocore's ConnectionError, but a wrong certificate does not heal by itself
    NoRegionError,
    InvalidRegionError,
    ProfileNotFound,
    InvalidEndpointConfigurationError,
    EndpointResolutionError,
)
TRANSLATED = (ClientError, BotoCoreError, S3UploadFailedError, RetriesExceededError)
"""What a client method catches; anything else is a bug and propagates as it is."""

_CODE_IN_TEXT = re.compile(r"An error occurred \(([^)]+)\) when calling")
_PARTIAL_VARIABLES = {"aws_access_key_id": "access_key_id", "aws_secret_access_key": "secret_access_key"}


@dataclass(frozen=True)
class S3Call:
    """One call as a message describes it: what was being done, to what, needing which permission."""

    doing: str  # "reading", "uploading /tmp/x.mp4 to", ...
    action: str  # the IAM action the call needs, e.g. "s3:GetObject"
    bucket: str
    key: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.key is not None else f"s3://{self.bucket}"

    @property
    def resource(self) -> str:
        return (
            f"arn:aws:s3:::{self.bucket}/{self.key}"
            if self.key is not None
            else f"arn:aws:s3:::{self.bucket}"
        )

    @property
    def what(self) -> str:
        return f"{self.doing} {self.uri}"


def translate(exc: Exception, call: S3Call, names: CredentialNames) -> Exception:
    """The project's error for `exc`, to be raised `from exc`. Exceptions outside boto's families are
    returned unchanged (a bug fails loudly as itself)."""
    if isinstance(exc, S3UploadFailedError):
        # boto3 wraps the ClientError of an upload in text; the original is the implicit context.
        inner = exc.__cause__ or exc.__context__
        if isinstance(inner, ClientError):
            return translate(inner, call, names)
        match = _CODE_IN_TEXT.search(str(exc))
        return classify_code(match.group(1) if match else "", None, str(exc), call, names)
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return classify_code(str(error.get("Code", "")), status, str(error.get("Message", "")), call, names)
    if isinstance(exc, CONFIG_EXCEPTIONS):
        return ConfigError(f"{call.what}: the S3 client is misconfigured ({type(exc).__name__}: {exc})")
    if isinstance(exc, TRANSIENT_EXCEPTIONS):
        return StorageTransientError(
            f"{call.what}: S3 did not answer ({type(exc).__name__}: {exc}); retry later, and check "
            f"{names.endpoint} if it persists"
        )
    if isinstance(exc, CREDENTIAL_EXCEPTIONS):
        return _credential_error(exc, call, names)
    if isinstance(exc, BotoCoreError):
        return _unclassified(type(exc).__name__, f"{type(exc).__name__}: {exc}", call)
    return exc


def classify_code(
    code: str, status: int | None, message: str, call: S3Call, names: CredentialNames
) -> PipelineError:
    """One S3 error answer (a raised ClientError, or one entry of DeleteObjects' `Errors`)."""
    err = _classify_code(code, status, message, call, names)
    err.http_status = status
    return err


def _classify_code(
    code: str, status: int | None, message: str, call: S3Call, names: CredentialNames
) -> PipelineError:
    answered = f"S3 answered {code or status}" + (f" ({message})" if message and message != code else "")
    if code in TRANSIENT_CODES or "Throttl" in code or (not code and status in TRANSIENT_STATUSES):
        return StorageTransientError(f"{call.what}: {answered}: throttled or unavailable, retry later")
    if code in CONFLICT_CODES or (not code and status == 412):
        return WriteConflictError(
            f"{call.what}: S3 answered {code or status}: another writer created or changed the object "
            "first (a lost race; the caller re-reads it)",
            bucket=call.bucket,
            key=call.key or "",
        )
    if code in ACCESS_CODES or (not code and status == 403):
        return _access_error(code or "403", answered, call, names)
    if code in BUCKET_MISSING_CODES or (call.key is None and code in KEY_MISSING_CODES):
        return BucketNotFoundError(
            f"{call.what}: bucket {call.bucket!r} does not exist ({answered}): check the bucket in the "
            f"source/dest settings, or that {names.endpoint} points at the S3 that holds it",
            bucket=call.bucket,
        )
    if call.key is not None and (code in KEY_MISSING_CODES or (not code and status == 404)):
        return ObjectNotFoundError(
            f"{call.what}: no object at {call.uri} ({answered}): it was deleted or never written",
            bucket=call.bucket,
            key=call.key,
        )
    return _unclassified(code or str(status), answered, call)


def _access_error(code: str, answered: str, call: S3Call, names: CredentialNames) -> StorageAccessError:
    which = ACCESS_CODES.get(code, "policy")
    if which == "access_key_id":
        credential = names.access_key_id
        fix = f"S3 does not know the access key ID in {credential}: set an active key (of the account that "
        fix += f"owns {call.bucket!r}, on the endpoint in {names.endpoint})"
    elif which == "secret_access_key":
        credential = names.secret_access_key
        fix = f"the secret in {credential} does not belong to the access key ID in {names.access_key_id}: "
        fix += "set the secret issued with that key"
    elif which == "session_token":
        credential = names.session_token
        fix = f"the session token in {credential} is expired or invalid: refresh the temporary credentials "
        fix += f"({names.access_key_id}, {names.secret_access_key} and {names.session_token} together)"
    elif which == "account":
        credential = names.access_key_id
        fix = f"S3 refuses every request of the account behind {credential}: its owner must resolve it "
        fix += "with AWS (billing, suspension); no pipeline setting fixes this"
    else:
        credential = f"the IAM or bucket policy granting {call.action} on {call.resource}"
        fix = f"the credentials in {names.access_key_id} may not {call.action} on {call.resource}: grant it "
        fix += f"in their IAM policy or in the bucket policy of {call.bucket!r}"
        if call.action == "s3:GetObject":
            fix += f"; S3 also answers 403 for a missing key when s3:ListBucket on {call.bucket!r} is not granted"
        # A HEAD answer has no body, hence no code telling a refused key from a refused action.
        if code == "403":
            fix += f"; a wrong {names.access_key_id} / {names.secret_access_key} pair answers the same 403"
    return StorageAccessError(
        f"{call.what}: {answered}: {fix}", credential=credential, code=code, bucket=call.bucket, key=call.key
    )


def _credential_error(exc: Exception, call: S3Call, names: CredentialNames) -> StorageAccessError:
    if isinstance(exc, PartialCredentialsError):
        missing = str(exc.kwargs.get("cred_var", ""))
        credential = getattr(names, _PARTIAL_VARIABLES.get(missing, "secret_access_key"))
        fix = f"only part of the AWS credentials is set ({missing} is missing): set {credential}"
    elif isinstance(exc, NoCredentialsError):
        credential = f"{names.access_key_id} and {names.secret_access_key}"
        fix = f"no AWS credentials found: set {credential} (or an AWS profile or instance role)"
    else:
        credential = names.access_key_id
        fix = f"boto3 could not obtain credentials ({type(exc).__name__}: {exc}): fix {credential}"
    return StorageAccessError(
        f"{call.what}: {fix}",
        credential=credential,
        code=type(exc).__name__,
        bucket=call.bucket,
        key=call.key,
    )


def _unclassified(code: str, answered: str, call: S3Call) -> UnclassifiedStorageError:
    return UnclassifiedStorageError(
        f"{call.what}: {answered}: no rule classifies this failure, so it fails the task instead of being "
        "retried (classify it in pipeline/storage/s3_errors.py once it is understood)",
        code=code,
    )
