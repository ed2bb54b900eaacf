"""PDF rendering for every document the app makes (audit reports, shortlists, RFP packets, the trail).

WeasyPrint runs in a child process (core/pdfsandbox.py) with every URL fetch refused, under a
wall-clock time limit (PDF_RENDER_TIMEOUT seconds, default 120) and an address-space limit
(PDF_RENDER_MEMORY_MB, default 1024), below Celery's task limits: a runaway document fails with the
reason instead of stalling or exhausting the worker. A single-threaded process (a Celery prefork child,
a gunicorn sync worker) forks the child from itself, WeasyPrint already loaded; otherwise the child
is a fresh interpreter (`python -I pdfsandbox.py`). Not multiprocessing: Celery's prefork workers are
daemonic and may not start multiprocessing children.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

# The fresh-interpreter child runs this script by path, without Django, settings or secrets.
SANDBOX = Path(__file__).resolve().with_name("pdfsandbox.py")
SANDBOX_EXIT_MEMORY = 3  # pdfsandbox.EXIT_MEMORY
FORK = hasattr(os, "fork")
# What the child may see of the environment: locale and fonts, no secrets or database settings.
CHILD_ENVIRONMENT = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "XDG_CACHE_HOME",
    "XDG_DATA_DIRS",
    "FONTCONFIG_FILE",
    "FONTCONFIG_PATH",
    "LD_LIBRARY_PATH",
    "WEASYPRINT_DLL_DIRECTORIES",
)


class PdfRenderError(Exception):
    """The renderer failed; the message says why (kept as the failed document's error)."""


class PdfRenderLimitExceeded(PdfRenderError):
    """The document needed more time or memory than allowed: rendering it again fails again."""


def render_pdf(html: str, meanwhile: Callable[[], object] | None = None) -> tuple[bytes, int, list[str]]:
    """PDF bytes, page count, and the URLs the document asked for (all refused), from a limited child.

    `meanwhile` runs in this process while the child renders (other files of the same job): the
    parent would otherwise only wait."""
    timeout = float(getattr(settings, "PDF_RENDER_TIMEOUT", 120))
    memory_mb = int(getattr(settings, "PDF_RENDER_MEMORY_MB", 1024))
    too_slow = f"The PDF took longer than the {timeout:g} s allowed to render (PDF_RENDER_TIMEOUT)."
    too_big = f"The PDF needed more than the {memory_mb} MB of memory allowed to render (PDF_RENDER_MEMORY_MB)."
    if FORK and threading.active_count() == 1:
        # Workers (prefork children) and gunicorn's sync workers are single-threaded: fork a child of
        # this process, which has WeasyPrint loaded already (a fresh interpreter costs ~0.8 s a PDF).
        # With other threads about, a fork could inherit a held lock: start a fresh interpreter instead.
        return _forked(html, timeout, memory_mb, too_slow, too_big, meanwhile)
    if not sys.executable:
        raise PdfRenderError("No Python interpreter to run the PDF renderer in.")
    environment = {key: os.environ[key] for key in CHILD_ENVIRONMENT if key in os.environ}
    command = [sys.executable, "-I", str(SANDBOX), str(memory_mb * 1024 * 1024), str(math.ceil(timeout) + 5)]
    deadline = time.monotonic() + timeout
    child = subprocess.Popen(  # noqa: S603 - our interpreter and our script, no shell
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment
    )
    try:
        # The child reads all of its input before it writes: handing the HTML over cannot deadlock
        # (communicate() below closes its standard input).
        with contextlib.suppress(BrokenPipeError):
            stdin = child.stdin
            assert stdin is not None  # opened with PIPE above
            stdin.write(html.encode("utf-8"))
            stdin.flush()
        if meanwhile:
            meanwhile()
        out, err = child.communicate(timeout=max(deadline - time.monotonic(), 0.01))
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise PdfRenderLimitExceeded(too_slow) from None
    except BaseException:
        child.kill()
        child.communicate()
        raise
    return _result(child.returncode, out, err, too_slow, too_big)


def _result(code: int, out: bytes, err: bytes, too_slow: str, too_big: str) -> tuple[bytes, int, list[str]]:
    """The child's answer: exit code 0 with a JSON header line and the PDF, or the reason it stopped."""
    if code == SANDBOX_EXIT_MEMORY:
        raise PdfRenderLimitExceeded(too_big)
    if code == -signal.SIGXCPU:  # the CPU-time backstop
        raise PdfRenderLimitExceeded(too_slow)
    if code in (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS, -signal.SIGKILL, -signal.SIGTRAP):
        # Native libraries abort when an allocation fails under the address-space limit (GLib's
        # g_error traps).
        raise PdfRenderLimitExceeded(f"{too_big} The renderer stopped with {signal.Signals(-code).name}.")
    if code != 0:
        reason = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {code}"]
        raise PdfRenderError(f"The PDF renderer failed: {reason[0]}")
    header, _, pdf = out.partition(b"\n")
    meta = json.loads(header)
    return pdf, meta["pages"], meta["refused"]


def _address_space() -> int:
    """This process's virtual memory size in bytes (what RLIMIT_AS counts)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _peak_address_space() -> int:
    """The largest virtual memory size this process has had, in bytes (VmPeak)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _forked(html: str, timeout: float, memory_mb: int, too_slow: str, too_big: str, meanwhile=None):
    """Render in a forked child under the same limits; the parent reads its answer until the deadline."""
    from core import pdfsandbox  # WeasyPrint, loaded once per process and inherited by every child

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: render, answer through the pipe, leave without running any cleanup
        code, payload, limit = 1, b"", None
        try:
            os.close(read_fd)
            # The child starts with the parent's whole address space (a test process or a worker with
            # many libraries loaded can be past a gigabyte): the limit is what rendering may add to it.
            limit = _address_space() + memory_mb * 1024 * 1024
            pdfsandbox.limit(limit, math.ceil(timeout) + 5)
            pdf, pages, refused = pdfsandbox.render(html)
            payload, code = json.dumps({"pages": pages, "refused": refused}).encode() + b"\n" + pdf, 0
        except MemoryError:
            code = SANDBOX_EXIT_MEMORY
        except BaseException as error:
            payload = f"{type(error).__name__}: {error}".encode()[:2000]
            # A native library that could not allocate may fail in other ways (e.g. SystemError):
            # whatever stopped the render at the address-space limit is the limit.
            if limit is not None and _peak_address_space() >= limit - 32 * 1024 * 1024:
                code = SANDBOX_EXIT_MEMORY
        finally:
            with contextlib.suppress(BaseException):
                view = memoryview(payload)
                while view:
                    view = view[os.write(write_fd, view) :]
            os._exit(code)
    os.close(write_fd)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        if meanwhile:
            try:
                meanwhile()
            except BaseException:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise PdfRenderLimitExceeded(too_slow)
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    data = b"".join(chunks)
    return _result(code, data if code == 0 else b"", data if code else b"", too_slow, too_big)
