"""`make run`'s supervisor (deploy/run.py): Ctrl-C stops the web server, the worker, the beat and the
embedded database, none left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.worker  # starts processes: in the serial group


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ours(var_dir: Path, port: int) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["status"] != psutil.STATUS_ZOMBIE and (str(var_dir) in cmdline or f":{port}" in cmdline):
            found.append(process)
    return found


def test_every_process_of_the_run_links_e_mails_to_the_served_port(monkeypatch):
    sys.path.insert(0, str(ROOT / "deploy"))
    import run

    for name in ("SITE_URL", "DJANGO_DEBUG", "ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    env = run.environment("127.0.0.1", 8123)
    assert env["SITE_URL"] == "http://127.0.0.1:8123"
    assert env["DJANGO_DEBUG"] == "1" and "127.0.0.1" in env["ALLOWED_HOSTS"]


def test_ctrl_c_stops_web_worker_beat_and_database_within_5_seconds(tmp_path):
    var_dir = tmp_path / "var"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}}
    env["VENDORSELECT_VAR_DIR"] = str(var_dir)
    run = subprocess.Popen(
        [sys.executable, "deploy/run.py", "--port", str(port), "--no-setup"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert run.poll() is None, run.stdout.read().decode()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the web server did not start"
                time.sleep(0.3)
        names = " ".join(" ".join(p.cmdline()) for p in _ours(var_dir, port))
        assert "runserver" in names and "celery" in names and "-B" in names and "postgres -D" in names

        started = time.monotonic()
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        run.wait(10)
        while _ours(var_dir, port) and time.monotonic() - started < 5:
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        assert _ours(var_dir, port) == [], [p.cmdline() for p in _ours(var_dir, port)]
        assert elapsed < 5, f"stopping took {elapsed:.1f} s"
        assert run.returncode == 0
    finally:
        for process in _ours(var_dir, port):
            process.kill()
