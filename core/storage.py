"""Object storage whose failures are both a refusal the user can read and an OSError the workers retry:
django-storages' S3Storage, with every boto3/botocore/s3transfer error (endpoint unreachable,
credentials refused, throttling, a transfer cut off) raised as `StorageUnavailable`.

`StorageUnavailable` is a domain error of kind "unavailable" (core.errors: 503 with its message on the
API, the message on the page through `refusals_on_page`) and an OSError: the packet, report and import
tasks retry it as they retry a full or unmounted disk (their TRANSIENT), then fail the job with the
reason. The services save the file before the row, so an upload refused this way leaves no row; a
missing object stays FileNotFoundError (also an OSError), and a download answers it with
`open_or_404`: 404 saying the stored file is missing."""

from __future__ import annotations

import functools

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError
from django.http import Http404
from s3transfer.exceptions import RetriesExceededError, S3DownloadFailedError, S3UploadFailedError
from storages.backends.s3 import S3File as _S3File
from storages.backends.s3 import S3Storage as _S3Storage
from storages.utils import clean_name

from core.errors import Kind, ServiceError

NOT_SAVED = "File storage is unavailable just now; nothing was saved. Try again in a few minutes."
NOT_READ = "File storage is unavailable just now; the file cannot be read. Try again in a few minutes."
MISSING = "The stored file of this record is missing; ask an administrator to restore it from the backup."
STORAGE_ERRORS = (
    BotoCoreError,
    ClientError,
    Boto3Error,
    RetriesExceededError,
    S3UploadFailedError,
    S3DownloadFailedError,
)


class StorageUnavailable(ServiceError, OSError):
    """The object store did not answer, or refused the request (wrong credentials, no such bucket).

    `message` is for the user; `str()` adds the storage's own error for logs and a failed job's reason."""

    kind = Kind.UNAVAILABLE

    def __init__(self, message: str = NOT_SAVED, detail: str = ""):
        super().__init__(message)
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.message} ({self.detail})" if self.detail else self.message


class StoredFileMissing(Http404):
    """Raised by `open_or_404`: the record exists, the object behind it does not."""


def _not_found(error: Exception) -> bool:
    """An object that is not there (a HEAD answers a bare 404); not a bucket that is not there."""
    if not isinstance(error, ClientError):
        return False
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 and error.response.get("Error", {}).get("Code") != "NoSuchBucket"


def _unavailable(error: Exception, message: str) -> StorageUnavailable:
    return StorageUnavailable(message, f"{type(error).__name__}: {error}"[:500])


def _wrapped(method, message: str = NOT_SAVED):
    """`method` with the storage's errors as StorageUnavailable; a read (`message` NOT_READ) of an object
    that is not there as FileNotFoundError."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except STORAGE_ERRORS as error:
            if message == NOT_READ and _not_found(error):
                raise FileNotFoundError(f"File does not exist: {getattr(self, 'name', '')}") from error
            raise _unavailable(error, message) from error

    return wrapper


class S3File(_S3File):
    """django-storages' S3File, whose reads (the object is fetched at the first read) and multipart writes
    fail as the storage's own methods do."""

    file = property(_wrapped(_S3File._get_file, NOT_READ), _S3File._set_file)
    write = _wrapped(_S3File.write)
    close = _wrapped(_S3File.close)


class S3Storage(_S3Storage):
    def _open(self, name, mode="rb"):
        name = self._normalize_name(clean_name(name))
        try:
            return S3File(name, mode, self)  # reading: a HEAD request first
        except STORAGE_ERRORS as error:
            if "r" in mode and _not_found(error):
                raise FileNotFoundError(f"File does not exist: {name}") from error
            raise _unavailable(error, NOT_READ if "r" in mode else NOT_SAVED) from error

    _save = _wrapped(_S3Storage._save)
    delete = _wrapped(_S3Storage.delete)
    exists = _wrapped(_S3Storage.exists)
    size = _wrapped(_S3Storage.size, NOT_READ)
    listdir = _wrapped(_S3Storage.listdir, NOT_READ)
    get_modified_time = _wrapped(_S3Storage.get_modified_time, NOT_READ)


def open_or_404(field, mode: str = "rb"):
    """A stored file for a download view; a record whose file is gone answers 404 saying so, not 500.
    Storage that does not answer raises StorageUnavailable (503 with its message)."""
    try:
        return field.open(mode)
    except FileNotFoundError:
        raise StoredFileMissing(MISSING) from None
