"""Project-level checks: deployment settings, the compose file, the OpenAPI schema, migrations."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    for variable in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(variable, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


PRODUCTION = {
    "SECRET_KEY": "x" * 20 + "production-like-secret-key-for-the-check-0123456789",
    "DJANGO_DEBUG": "0",
    "ALLOWED_HOSTS": "vendorselect.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "CELERY_TASK_ALWAYS_EAGER": "0",
}


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env_extra=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_secret_key():
    result = _manage("check", env_extra={**PRODUCTION, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_postgresql_is_the_only_database():
    result = _manage("check", env_extra={**PRODUCTION, "DATABASE_URL": ""})
    assert result.returncode != 0 and "DATABASE_URL must be set" in result.stderr
    result = _manage("check", env_extra={**PRODUCTION, "DATABASE_URL": "sqlite:///var/x.sqlite3"})
    assert result.returncode != 0 and "must name a PostgreSQL database" in result.stderr
    # The image's build step imports the settings without a database to reach.
    build = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if "manage.py collectstatic" in line)
    assert "DATABASE_URL=postgres://" in build


def test_openapi_schema_validates_without_warnings():
    result = _manage("spectacular", "--validate", "--fail-on-warn", "--file", os.devnull, env_extra=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_missing_migrations():
    result = _manage("makemigrations", "--check", "--dry-run", env_extra=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_services_point_at_real_things():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"db", "redis", "web", "worker"}
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command and "--maxmemory-policy noeviction" in redis_command
    one_shot = {
        dependency
        for service in services.values()
        for dependency, rule in (service.get("depends_on") or {}).items()
        if rule.get("condition") == "service_completed_successfully"
    }
    assert one_shot == {"migrate"}
    for name, service in services.items():
        assert name in one_shot or "healthcheck" in service, name
    # Two database roles: migrations as the owner, everything else as the application's role.
    init = services["db"]["volumes"][1].split(":")[0]
    assert (ROOT / init).exists() and "docker-entrypoint-initdb.d" in services["db"]["volumes"][1]
    assert "vendorselect_owner" in services["migrate"]["environment"]["DATABASE_URL"]
    assert services["migrate"]["environment"]["DATABASE_APP_ROLE"] == "vendorselect_app"
    for name in ("web", "worker", "beat"):
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://vendorselect_app:")
        assert "migrate" not in " ".join(services[name]["command"])
    for name in ("migrate", "web", "worker", "beat"):
        service = services[name]
        assert service["build"] == "."
        assert (ROOT / "Dockerfile").exists()
        command = " ".join(service["command"])
        if "manage.py" in command:
            assert (ROOT / "manage.py").exists()
        if "gunicorn" in command:
            module, attribute = command.split("gunicorn ")[1].split()[0].split(":")
            assert attribute == "application" and (ROOT / (module.replace(".", "/") + ".py")).exists()
        if "celery" in command:
            app = command.split("-A ")[1].split()[0]
            assert (ROOT / app / "celery.py").exists()
        env = service["environment"]
        settings_text = (ROOT / "vendorselect" / "settings.py").read_text()
        for variable in env:
            assert f'"{variable}"' in settings_text, f"{variable} is not read by the settings"
        for dependency in service["depends_on"]:
            assert dependency in services
    from django.conf import settings

    for entry in settings.CELERY_BEAT_SCHEDULE.values():  # beat schedules tasks that exist
        module, name = entry["task"].rsplit(".", 1)
        assert hasattr(__import__(module, fromlist=[name]), name), entry["task"]
    requirements = (ROOT / "requirements.txt").read_text()
    for package in ("gunicorn", "celery", "redis", "psycopg"):
        assert package in requirements


@pytest.mark.parametrize("path", ["requirements.txt", "requirements-dev.txt"])
def test_requirements_are_pinned(path):
    for line in (ROOT / path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "-r")):
            assert "==" in line, line


@pytest.mark.django_db
def test_a_lost_database_answers_503_with_retry_after_not_500(client, users, settings, monkeypatch):
    """A PostgreSQL restart or failover drops connections: pages and the API say "try again" (503 and
    Retry-After, without the layout, which needs the database); any other error stays a 500."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import OperationalError

    settings.DEBUG = False
    client.force_login(users["procurement"])
    client.raise_request_exception = False

    def gone(self):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(SessionStore, "load", gone)
    page = client.get("/vendors/")
    assert (page.status_code, page["Retry-After"]) == (503, "30")
    assert b"Temporarily unavailable" in page.content
    api = client.get("/api/v1/vendors/")
    assert (api.status_code, api["Retry-After"]) == (503, "30")
    assert api.json() == {"detail": "The database is unavailable; retry shortly."}

    def broken(self):
        raise ZeroDivisionError

    monkeypatch.setattr(SessionStore, "load", broken)
    page, api = client.get("/vendors/"), client.get("/api/v1/vendors/")
    assert (page.status_code, api.status_code) == (500, 500) and not page.has_header("Retry-After")
    assert api.json() == {"detail": "Server error."}


def _gunicorn_commands() -> dict[str, list[str]]:
    """The production gunicorn command lines: the image's CMD and compose's web command."""
    import json
    import shlex

    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = json.loads(next(line for line in dockerfile.splitlines() if line.startswith("CMD "))[4:])
    workdirs = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("WORKDIR ")]
    assert workdirs[-1] == "/app" and "COPY . ." in dockerfile  # gunicorn runs where gunicorn.conf.py is
    web = " ".join(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]["command"])
    compose = shlex.split(web[web.index("gunicorn ") :])
    return {"Dockerfile": cmd, "docker-compose web": compose}


@pytest.mark.parametrize("source", ["Dockerfile", "docker-compose web"])
def test_production_gunicorn_reads_the_request_limits_from_gunicorn_conf(source):
    """The limits live in gunicorn.conf.py, which gunicorn reads from its working directory; no
    production command may pass another --config (which would replace it) or its own limit."""
    command = _gunicorn_commands()[source]
    assert command[0] == "gunicorn"
    assert not {"-c", "--config", "--limit-request-line"} & set(command)
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", *command[1:], "--print-config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = dict(line.split(" = ", 1) for line in result.stdout.splitlines() if " = " in line)
    config = {key.strip(): value.strip() for key, value in config.items()}
    assert config["config"] == "./gunicorn.conf.py"
    assert config["limit_request_line"] == "8190"  # gunicorn's maximum; its default 4094 answers 414 to long filters


def test_gunicorn_with_the_production_command_serves_a_6_kb_query_string():
    """Gunicorn started as in production (the image's CMD, on a loopback port, one worker) passes a
    ~6 KB query string to Django (401 here: no credentials) instead of answering 414; past its
    8190-byte maximum it still refuses."""
    import http.client
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = _gunicorn_commands()["Dockerfile"]
    bind = command.index("--bind")
    command[bind + 1] = f"127.0.0.1:{port}"
    command[command.index("--workers") + 1] = "1"
    env = {**os.environ, **PRODUCTION}
    for variable in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(variable, None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *command[1:], "--no-control-socket"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def get(target: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request(
                "GET", target, headers={"Host": "vendorselect.example.com", "X-Forwarded-Proto": "https"}
            )
            return connection.getresponse().status
        finally:
            connection.close()

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get("/api/v1/")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read().decode()
                time.sleep(0.2)
        long_query = "/api/v1/vendors/?" + "&".join(f"kind=CDMO&country=DE&q=sterile-{n:04d}" for n in range(180))
        assert 6 * 1024 <= len(long_query) < 8000
        assert get(long_query) == 401
        assert get("/api/v1/vendors/?q=" + "x" * 8200) == 414
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()
