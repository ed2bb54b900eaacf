"""Reading a vendor's upload off the wire, for the page and the API alike.

Django streams a multipart body through its upload handlers: small files stay in memory, larger
ones go to a temporary file (FILE_UPLOAD_MAX_MEMORY_SIZE), so a file is never read whole into
memory. Two things are added here, before any byte is stored for good:

- a size limit while the body streams in (`LimitedUploadHandler`): past `bidding.max_upload()` the
  file is dropped at once instead of being written to a temporary file to the end and refused then;
- the file name as the browser sent it (`CheckedNameParser`): Django's parser silently cuts a name
  like ``../../x.pdf`` down to ``x.pdf`` and drops control characters; here such a name is refused
  with a message instead, as `rfp.bidding.upload_add` refuses it.

Both have to be in place before the body is parsed, which CSRF's check would otherwise do first:
the page view is `csrf_exempt` and checks CSRF itself after `prepare` (Django's documented way of
changing upload handlers), and the API view uses `PortalMultiPartParser`.
"""

from __future__ import annotations

import html

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles
from rest_framework.parsers import MultiPartParser as RestMultiPartParser

from rfp import bidding
from rfp.bidding import PortalError

REFUSAL = "portal_upload_refusal"


def _refuse(request, error: PortalError) -> None:
    if getattr(request, REFUSAL, None) is None:
        setattr(request, REFUSAL, error)


class LimitedUploadHandler(FileUploadHandler):
    """First in the chain: counts a file's bytes and skips the file past the limit."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = bidding.max_upload()

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            _refuse(
                self.request,
                PortalError(f"The file is larger than {self.limit // (1024 * 1024)} MB.", "file"),
            )
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) makes the file


class CheckedNameParser(DjangoMultiPartParser):
    """Django's parser, noting a file name that it would have to cut or clean."""

    def __init__(self, META, input_data, upload_handlers, encoding=None, *, request=None):
        super().__init__(META, input_data, upload_handlers, encoding)
        self.request = request

    def sanitize_file_name(self, file_name):
        cleaned = super().sanitize_file_name(file_name)
        if cleaned != html.unescape(file_name):
            if any(not c.isprintable() for c in file_name):
                message = "The file name contains control characters."
            else:
                message = "The file name may not contain folders (/ or \\)."
            _refuse(self.request, PortalError(message, "file"))
        return cleaned


def prepare(request) -> None:
    """For a page view (csrf_exempt): parse the multipart body with the checks above, now."""
    request.upload_handlers.insert(0, LimitedUploadHandler(request))
    if request.method != "POST" or not request.content_type.startswith("multipart/form-data"):
        return
    parser = CheckedNameParser(request.META, request, request.upload_handlers, request.encoding, request=request)
    try:
        request._post, request._files = parser.parse()
    except MultiPartParserError:
        request._mark_post_parse_error()
        raise


def refusal(request) -> PortalError | None:
    """What the reading of the body refused (too large, a name with folders or control characters)."""
    return getattr(request, REFUSAL, None)


class PortalMultiPartParser(RestMultiPartParser):
    """DRF's multipart parser with the same limit and name check (`refusal(request._request)`)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context["request"]
        django_request = request._request
        encoding = parser_context.get("encoding", "utf-8")
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        handlers = [LimitedUploadHandler(django_request), *request.upload_handlers]
        try:
            parser = CheckedNameParser(meta, stream, handlers, encoding, request=django_request)
            data, files = parser.parse()
        except MultiPartParserError as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from exc
        return DataAndFiles(data, files)
