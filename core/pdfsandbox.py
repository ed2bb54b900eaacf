"""The PDF renderer's own process: WeasyPrint under an address-space and CPU limit, fetching nothing.

Run by core.pdf as ``python -I pdfsandbox.py MEMORY_BYTES CPU_SECONDS`` with the HTML on
standard input. It writes one JSON line (page count, refused URLs) and then the PDF bytes to standard
output. This module imports no Django: the child starts from a clean interpreter, without the parent's
settings, secrets or database connections.

Exit codes: 0 rendered, 3 out of memory (MemoryError under the limit), 1 any other error (on stderr).
"""

from __future__ import annotations

import io
import json
import resource
import sys

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetchingError

EXIT_MEMORY = 3


class DenyAllFetcher(URLFetcher):
    """Refuses every URL WeasyPrint asks for (http, file, data...), and remembers what was asked."""

    def __init__(self):
        super().__init__(allowed_protocols=[])
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        self.refused.append(url)
        raise URLFetchingError(f"fetching is disabled: {url[:80]}")


def render(html: str) -> tuple[bytes, int, list[str]]:
    """PDF bytes, page count, and the URLs the document asked for (all refused). In-process."""
    fetcher = DenyAllFetcher()
    document = HTML(string=html, base_url=None, url_fetcher=fetcher).render()
    buffer = io.BytesIO()
    document.write_pdf(buffer)
    return buffer.getvalue(), len(document.pages), fetcher.refused


def limit(memory_bytes: int, cpu_seconds: int) -> None:
    """The hard limits of this process: address space, and CPU time in case the parent is gone."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str]) -> int:
    limit(int(argv[1]), int(argv[2]))
    try:
        html = sys.stdin.buffer.read().decode("utf-8")
        pdf, pages, refused = render(html)
        header = json.dumps({"pages": pages, "refused": refused}).encode()
    except MemoryError:
        sys.stderr.write("MemoryError\n")
        return EXIT_MEMORY
    except Exception as error:
        sys.stderr.write(f"{type(error).__name__}: {error}\n"[:2000])
        return 1
    sys.stdout.buffer.write(header + b"\n" + pdf)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
