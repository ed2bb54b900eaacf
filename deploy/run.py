"""`make run`: the whole product on one machine with nothing installed but this repository's venv.

Starts the embedded PostgreSQL server (deploy/localdb.py; or uses DATABASE_URL when set), migrates,
loads the demo data, then runs the web server and a Celery worker with its beat (file-system broker
under var/). Ctrl-C (or SIGTERM) stops the web server, the worker, the beat and the database within
seconds: each child runs in its own process group, so nothing is left behind waiting for a terminal
that is gone.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import localdb  # a sibling script, not a package

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STOP_GRACE_SECONDS = 3.0


def environment(host: str, port: int) -> dict[str, str]:
    """What every process of the run gets: debug mode, the served host, e-mail links that point at it."""
    env = dict(os.environ)
    env.setdefault("DJANGO_DEBUG", "1")
    env.setdefault("ALLOWED_HOSTS", f"{host},localhost,127.0.0.1")
    env["SITE_URL"] = f"http://{host}:{port}"
    env.setdefault("DJANGO_RUNSERVER_HIDE_WARNING", "true")
    if os.geteuid() == 0:  # a container or CI: Celery's advice about root is noise in a demo run
        env.setdefault("PYTHONWARNINGS", "ignore:You're running the worker with superuser privileges")
    return env


def _setup(env: dict[str, str], seed: bool) -> None:
    """Migrations quietly (their output is noise unless they fail), then the demo data, whose summary and
    sign-ins are the part of the banner a new user needs."""
    steps = [[PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"]]
    if seed:
        steps.append([PYTHON, "manage.py", "seed_demo"])
    for command in steps:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=command[2] == "migrate", text=True)
        if done.returncode:
            sys.stderr.write((done.stdout or "") + (done.stderr or ""))
            raise SystemExit(f"{' '.join(command[1:3])} failed (exit {done.returncode})")


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def _wait_for_port(host: str, port: int, children: list[subprocess.Popen], stopping: list[int]) -> None:
    """So that the banner comes after the servers' own start-up lines."""
    deadline = time.monotonic() + 60
    while not stopping and time.monotonic() < deadline and all(c.poll() is None for c in children):
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)


def _stop(children: list[subprocess.Popen], own_database: bool) -> None:
    """Cold shutdown of the worker (a task cut off here is claimed again by the beat's sweep on the next
    start: the outbox's claims), the web server and the database at the same time; whatever is left
    after a short grace, pool processes included, is killed with its process group."""
    for child in children:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGQUIT if "celery" in child.args[0] else signal.SIGTERM)
    if own_database:
        localdb.stop(wait=STOP_GRACE_SECONDS)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(max(0.0, deadline - time.monotonic()))
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-setup", action="store_true", help="skip migrate and demo data (tests)")
    args = parser.parse_args(argv)

    stopping: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda signum, frame: stopping.append(signum))

    own_database = not os.environ.get("DATABASE_URL")
    env = environment(args.host, args.port)
    children: list[subprocess.Popen] = []
    try:
        if own_database:
            env["DATABASE_URL"] = localdb.start()
        if not args.no_setup:
            _setup(env, seed=True)
        var = Path(env.get("VENDORSELECT_VAR_DIR", ROOT / "var"))
        children.append(
            _start(
                [
                    *(str(Path(PYTHON).with_name("celery")), "-A", "vendorselect", "-q", "worker", "-B"),
                    *(f"--schedule={var / 'celerybeat-schedule'}", "--loglevel=warning", "--concurrency=2"),
                ],
                env,
            )
        )
        children.append(_start([PYTHON, "manage.py", "runserver", "--noreload", f"{args.host}:{args.port}"], env))
        _wait_for_port(args.host, args.port, children, stopping)
        print(
            f"\nVendorSelect on http://{args.host}:{args.port}/  (sign in as one of the users above)\n"
            "Ctrl-C stops the web server, the worker, the beat and the database.\n",
            flush=True,
        )
        while not stopping:
            if any(child.poll() is not None for child in children):
                print("a process of the run stopped: stopping the rest", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        _stop(children, own_database)


if __name__ == "__main__":
    sys.exit(main())
