"""The S3 client's tests talk to real servers over HTTP through the real boto3 client: moto's S3 server
on loopback (with IAM enforcement switched on where a test needs real 403s), and a tiny HTTP server
that answers what a test tells it to (503s, resets, codes no rule knows)."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
import requests
from pydantic import SecretStr

from pipeline.storage import S3Connection, S3Location, S3Store

REGION = "us-east-1"
# moto accepts any key while IAM is not enforced; these are no one's credentials.
ADMIN = {"access_key_id": "testing", "secret_access_key": SecretStr("testing")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _no_ambient_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test says exactly which endpoint and credentials it uses: nothing from the session's env,
    no profile files, no instance-metadata lookups."""
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one INFO line per request otherwise
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def connection(endpoint: str, **overrides: object) -> S3Connection:
    """One try per call: the tests see what S3 answered, not boto3's retries of it."""
    fields: dict[str, object] = {"endpoint_url": endpoint, "region": REGION, "retries": 0, **ADMIN}
    fields.update(overrides)
    return S3Connection.model_validate(fields)


@pytest.fixture
def admin(moto_endpoint: str) -> S3Store:
    return S3Store(connection=connection(moto_endpoint))


@pytest.fixture
def bucket(admin: S3Store) -> str:
    """A fresh bucket holding `media/a.mp4` and `media/b.mp4`."""
    name = f"storage-{uuid.uuid4().hex[:10]}"
    admin.ensure_bucket(name)
    for key in ("media/a.mp4", "media/b.mp4"):
        admin.put_bytes(S3Location(name, key), b"not really a video")
    return name


@dataclass(frozen=True)
class IamUser:
    access_key_id: str
    secret_access_key: str


@pytest.fixture
def enforce_iam(moto_endpoint: str) -> Iterator[Callable[[list[str]], IamUser]]:
    """Make an IAM user allowed only `actions`, then switch moto to checking every request's signature
    and permissions (the admin key stops working until the test ends)."""
    iam = boto3.client(
        "iam",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    switched: list[str] = []

    def user_allowed(actions: list[str]) -> IamUser:
        name = f"user-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=name)
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
        iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        answer = requests.post(f"{moto_endpoint}/moto-api/reset-auth", data=b"0", timeout=10)
        switched.append(answer.json()["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"])
        return IamUser(key["AccessKeyId"], key["SecretAccessKey"])

    try:
        yield user_allowed
    finally:
        if switched:
            requests.post(f"{moto_endpoint}/moto-api/reset-auth", data=switched[0].encode(), timeout=10)


@dataclass
class Answer:
    """What the scripted server sends: a status with an S3 error document, or a dropped connection."""

    status: int = 503
    code: str = "SlowDown"
    message: str = "Please reduce your request rate."
    drop_connection: bool = False
    ok_first: list[bytes] = field(default_factory=list)  # 200 bodies sent, one per request, before failing
    seen: list[str] = field(default_factory=list)  # "METHOD /path" of each request that arrived


@pytest.fixture
def scripted_s3() -> Iterator[tuple[str, Answer]]:
    """An HTTP server on loopback that answers every request with `Answer` (mutable by the test)."""
    answer = Answer()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            answer.seen.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if answer.ok_first:
                self._send(200, answer.ok_first.pop(0))
                return
            if answer.drop_connection:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{answer.code}</Code>'
                f"<Message>{answer.message}</Message><RequestId>test</RequestId></Error>"
            ).encode()
            self._send(answer.status, body)

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", answer
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def deny_delete(admin: S3Store) -> Callable[[str, str], None]:
    """A bucket policy that protects one key from deletion: DeleteObjects then answers 200 and lists
    that key in its Errors."""

    def protect(bucket: str, key: str) -> None:
        statement = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:DeleteObject",
            "Resource": f"arn:aws:s3:::{bucket}/{key}",
        }
        policy = {"Version": "2012-10-17", "Statement": [statement]}
        admin.client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    return protect
