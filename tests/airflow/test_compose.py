"""docker/docker-compose.yml validates (without a Docker engine) and holds the Airflow 3 stack."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO

COMPOSE = REPO / "docker" / "docker-compose.yml"
AIRFLOW = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}


def compose_cmd() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return ["docker", "compose"]
    pytest.skip(
        "neither docker-compose nor `docker compose` is installed (apt-get install -y docker-compose)"
    )


def test_compose_config_validates_and_has_every_service(tmp_path) -> None:  # noqa: ANN001
    env = tmp_path / "compose.env"
    example = (REPO / "docker" / ".env.example").read_text()
    secrets = {
        "AIRFLOW_FERNET_KEY": "k",
        "AIRFLOW_JWT_SECRET": "j" * 64,
        "AIRFLOW_API_SECRET_KEY": "s",
        "GEMINI_API_KEY": "g",
    }
    env.write_text(example + "".join(f"\n{k}={v}" for k, v in secrets.items()) + "\n")
    result = subprocess.run(
        [*compose_cmd(), "-f", str(COMPOSE), "--env-file", str(env), "--profile", "emulator", "config"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert AIRFLOW | {"postgres", "redis", "minio", "minio-init", "gemini-emulator"} <= set(services)
    worker = services["airflow-worker"]["environment"]
    assert worker["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert worker["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis")
    assert worker["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert '"endpoint_url": "http://minio:9000"' in worker["AIRFLOW_CONN_AWS_DEFAULT"]
    assert services["gemini-emulator"]["command"] == ["emulator", "--host", "0.0.0.0", "--port", "8765"]
    init = " ".join(services["airflow-init"]["command"])
    assert "airflow pools set ffmpeg" in init and "airflow pools set gemini_api" in init


def test_compose_refuses_to_start_without_the_shared_secrets(tmp_path) -> None:  # noqa: ANN001
    empty = tmp_path / "empty.env"
    empty.write_text("")
    cmd = [*compose_cmd(), "-f", str(COMPOSE), "--env-file", str(empty), "config"]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert result.returncode != 0
    assert "AIRFLOW_FERNET_KEY" in result.stderr
