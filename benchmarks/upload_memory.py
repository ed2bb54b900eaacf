"""Peak memory of the web process during a 50 MB proposal upload to the supplier portal.

    .venv/bin/python benchmarks/upload_memory.py [--size-mb 50]

One command does it all, with the production settings of benchmarks/load.py (DEBUG off, a random
SECRET_KEY, Secure cookies behind the TLS proxy, Redis LOAD_REDIS_URL, emptied before and after):
  1. a throwaway PostgreSQL database (LOAD_DATABASE_URL's name + "_upload_<pid>"), migrated and seeded
     (`seed_demo`: the demo RFP "RFP: oral tablets for Phase III and launch"); a new person of its
     first invited vendor is invited through rfp.bidding.invite (the link's token kept in this process);
     the static files collected into var/load/static as load.py does;
  2. gunicorn with the production command and gunicorn.conf.py, ONE sync worker, uploads under
     MEDIA_ROOT in a temporary directory, e-mail by Django's file-based backend into it (EMAIL_FILE_PATH);
  3. signs in as the vendor would: opens the e-mailed link, has the one-time code sent, reads it from the
     e-mail file, enters it; loads the portal home (so the worker has run every code path once);
  4. reads the worker's peak resident memory (VmHWM of /proc/<worker pid>/status), uploads a
     --size-mb MB PDF ("%PDF-1.4" header, filler, "%%EOF") to /portal/uploads/ as a browser's form
     post (multipart, streamed from a file on disk), reads VmHWM again;
  5. prints the peaks before and after, their difference, the upload's time, and the stored file's
     size and SHA-256 against the sent file's and the SealedUpload record's.

Passes (exit 0) when the upload was accepted, the stored file is the sent file, and the peak grew by
less than a fifth of the file's size (the body is streamed to a temporary file and to storage in
chunks, never held whole in memory). A file of at most FILE_UPLOAD_MAX_MEMORY_SIZE (5 MB) is held in
memory by Django's upload handlers by design: its figures are printed, not judged (measured: a 4 MB
file raised the peak by about 10 MB, which shows what the method sees when a file is held whole).
"""

import argparse
import hashlib
import http.client
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

os.environ.setdefault("LOAD_REDIS_URL", "redis://127.0.0.1:6379/12")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# benchmarks.load sets the production environment of its run when imported.
from benchmarks.load import (
    BASE_URL,
    REDIS_URL,
    ROOT,
    STATIC_VAR,
    free_port,
    start_collectstatic,
    stop,
    tail,
    wait_healthy,
)
from benchmarks.packets import create_database, drop_database

DEMO_RFP = "RFP: oral tablets for Phase III and launch"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CODE = re.compile(r"\bis (\d{6})\.")
MB = 1024 * 1024


def prepare() -> dict:
    """Migrate, seed the demo, invite one more person of the demo RFP's first vendor, collect the
    static files. Returns the invitation's token and ids."""
    import io

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from accounts.models import User
    from rfp import bidding
    from rfp.models import Rfp

    collector, stamp, digest = start_collectstatic()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    rfp = Rfp.objects.get(title=DEMO_RFP)
    candidate = bidding.invitable_candidates(rfp).first()
    invitation = bidding.invite(
        rfp=rfp,
        user=User.objects.get(username="lead"),
        candidate_id=candidate.pk,
        name="Upload Tester",
        email="upload-tester@vendor.example",
    )
    if collector is not None:
        output = collector.communicate()[0]
        if collector.returncode:
            raise SystemExit(f"collectstatic failed:\n{output[-3000:]}")
        stamp.write_text(digest)
    connections.close_all()
    return {"token": invitation.token, "email": invitation.email, "candidate": candidate.pk, "rfp": rfp.pk}


class Browser:
    """A browser behind the TLS proxy, on loopback http: X-Forwarded-Proto https, Origin on POSTs,
    its cookies (Secure ones included) kept by hand."""

    def __init__(self, port: int):
        self.port = port
        self.origin = f"https://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body=None, headers: dict | None = None, timeout: float = 300):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"X-Forwarded-Proto": "https", "Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if method == "POST":
            headers.update(Origin=self.origin, Referer=self.origin + path)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        for header in response.msg.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        connection.close()
        return response.status, response, data.decode("utf-8", "replace")

    def form(self, path: str, fields: dict, csrf: str):
        body = urlencode({"csrfmiddlewaretoken": csrf, **fields})
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})


def read_code(mail_dir: Path, email: str, timeout: float = 15) -> str:
    """The newest one-time code e-mailed to `email` (Django's file backend: one file per connection)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
            text = path.read_text(errors="replace")
            if email in text and (found := CODE.findall(text)):
                return found[-1]
        time.sleep(0.2)
    raise SystemExit(f"no one-time code e-mailed to {email} in {mail_dir}")


def sign_in(browser: Browser, token: str, email: str, mail_dir: Path) -> None:
    link = f"/portal/i/{token}/"
    status, _, page = browser.request("GET", link)
    if status != 200:
        raise SystemExit(f"the link answered {status}")
    status, _, page = browser.form(link, {"action": "send"}, CSRF_FIELD.search(page).group(1))
    if status != 200:
        raise SystemExit(f"sending the code answered {status}: {page[:500]}")
    code = read_code(mail_dir, email)
    status, response, page = browser.form(link, {"action": "verify", "code": code}, CSRF_FIELD.search(page).group(1))
    if status != 302 or response.getheader("Location") != "/portal/":
        raise SystemExit(f"the code was refused: {status} {page[:500]}")


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise SystemExit(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def memory(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS of the process, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(value.split()[0]) * 1024
    return values


def write_pdf(path: Path, size: int) -> str:
    """A file of `size` bytes that passes as a PDF by its content: header, filler, end marker."""
    head, tail_ = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", b"\n%%EOF\n"
    sha = hashlib.sha256()
    with path.open("wb") as handle:
        for block in (head, *filler(size - len(head) - len(tail_)), tail_):
            handle.write(block)
            sha.update(block)
    return sha.hexdigest()


def filler(size: int):
    line = b"% filler: a comment line of a proposal that is large only for this benchmark.\n"
    block = line * (MB // len(line))
    while size > 0:
        chunk = block[:size]
        size -= len(chunk)
        yield chunk


def multipart_body(path: Path, directory: Path, csrf: str) -> tuple[Path, str]:
    """The form post a browser sends, written to a file (sent streamed): the file's bytes copied in blocks."""
    boundary = f"----upload-memory-{secrets.token_hex(8)}"
    body = directory / "body.multipart"
    with body.open("wb") as out, path.open("rb") as source:
        for name, value in (("csrfmiddlewaretoken", csrf), ("part", "proposal")):
            out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="Proposal, technical and '
            f'commercial.pdf"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
        )
        shutil.copyfileobj(source, out, MB)
        out.write(f"\r\n--{boundary}--\r\n".encode())
    return body, f"multipart/form-data; boundary={boundary}"


def stored(candidate: int, rfp: int):
    """The newest sealed upload of the vendor: (record, its file's size and SHA-256 as stored)."""
    from rfp.models import SealedUpload

    upload = SealedUpload.objects.filter(rfp_id=rfp, candidate_id=candidate).order_by("-uploaded_at", "-pk").first()
    if upload is None:
        return None, 0, ""
    sha, size = hashlib.sha256(), 0
    with upload.file.open("rb") as handle:
        for chunk in iter(lambda: handle.read(MB), b""):
            sha.update(chunk)
            size += len(chunk)
    return upload, size, sha.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=50, help="size of the uploaded PDF in MB (default 50)")
    args = parser.parse_args()
    size = int(args.size_mb * MB)

    import redis

    broker = redis.Redis.from_url(REDIS_URL)
    broker.ping()
    broker.flushdb()
    scratch = Path(tempfile.mkdtemp(prefix="vendorselect-upload-"))
    mail_dir = scratch / "mail"
    os.environ.update(VENDORSELECT_VAR_DIR=str(STATIC_VAR), MEDIA_ROOT=str(scratch / "media"))
    database = create_database(BASE_URL, "upload")
    os.environ["DATABASE_URL"] = database
    server, log_path, exit_code = None, scratch / "gunicorn.log", 1
    try:
        setup_env = {
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "LOG_LEVEL": "WARNING",
        }
        os.environ.update(setup_env)
        started = time.perf_counter()
        invited = prepare()
        for name in setup_env:
            os.environ.pop(name)
        print(f"database ready in {time.perf_counter() - started:.0f} s")

        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "vendorselect.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", "1", "--timeout", "150", "--no-control-socket"]
        server_env = {
            **os.environ,
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
            "SITE_URL": f"https://127.0.0.1:{port}",
        }
        with log_path.open("w") as log:
            server = subprocess.Popen(
                command, cwd=ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_healthy(f"http://127.0.0.1:{port}/healthz", server, log_path)
        worker = worker_pid(server.pid)

        browser = Browser(port)
        sign_in(browser, invited["token"], invited["email"], mail_dir)
        status, _, home = browser.request("GET", "/portal/")
        if status != 200 or "csrfmiddlewaretoken" not in home:
            raise SystemExit(f"the portal home answered {status}")
        csrf = CSRF_FIELD.search(home).group(1)

        source = scratch / "proposal.pdf"
        sent_sha = write_pdf(source, size)
        body, content_type = multipart_body(source, scratch, csrf)
        source.unlink()  # the server's temporary file and the stored file should be the only copies on disk
        before = memory(worker)
        print(
            f"gunicorn: 1 sync worker (pid {worker}); worker memory before the upload: "
            f"peak (VmHWM) {before['VmHWM'] / MB:.1f} MB, resident {before['VmRSS'] / MB:.1f} MB"
        )
        with body.open("rb") as handle:
            headers = {"Content-Type": content_type, "Content-Length": str(body.stat().st_size)}
            upload_started = time.perf_counter()
            status, response, page = browser.request("POST", "/portal/uploads/", handle, headers)
            seconds = time.perf_counter() - upload_started
        after = memory(worker)
        grown = after["VmHWM"] - before["VmHWM"]
        accepted = status == 302 and response.getheader("Location") == "/portal/"
        print(
            f"upload of {size / MB:.1f} MB ({body.stat().st_size:,} bytes of form post): {status}"
            f"{' to ' + str(response.getheader('Location')) if status == 302 else ''} in {seconds:.2f} s "
            f"({size / MB / seconds:.0f} MB/s)"
        )
        print(
            f"worker memory after: peak (VmHWM) {after['VmHWM'] / MB:.1f} MB, resident {after['VmRSS'] / MB:.1f} MB; "
            f"the peak grew by {grown / MB:.1f} MB ({grown / size:.0%} of the file)"
        )
        if not accepted:
            print(f"refused: {page[:1000]}\n\ngunicorn log (tail):\n{tail(log_path)}")
        record, stored_size, stored_sha = stored(invited["candidate"], invited["rfp"])
        intact = record is not None and stored_size == size == record.size and stored_sha == sent_sha == record.sha256
        if record is not None:
            print(
                f"stored: {record.original_name!r}, {stored_size:,} bytes (sent {size:,}; record {record.size:,}); "
                f"SHA-256 {stored_sha} ({'matches the sent file and the record' if intact else 'MISMATCH'})"
            )
        from django.conf import settings

        in_memory = size <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE
        if in_memory:
            print(
                f"(a file of at most FILE_UPLOAD_MAX_MEMORY_SIZE, {settings.FILE_UPLOAD_MAX_MEMORY_SIZE / MB:g} MB, "
                "is kept in memory by Django's upload handlers by design: streaming is not judged)"
            )
        streamed = in_memory or grown < size / 5
        exit_code = 0 if accepted and intact and streamed else 1
        verdict = "OK" if exit_code == 0 else "FAILED"
        reasons = [
            r
            for r, bad in (("refused", not accepted), ("not intact", not intact), ("not streamed", not streamed))
            if bad
        ]
        print(f"\n{verdict}{': ' + ', '.join(reasons) if reasons else ''}")
    finally:
        stop(server)
        from django.db import connections

        connections.close_all()
        drop_database(database)
        shutil.rmtree(scratch, ignore_errors=True)
        broker.flushdb()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
