"""Object storage whose failures look like the file system's: django-storages' S3Storage, with every
boto3/botocore error (endpoint unreachable, credentials refused, throttling) raised as
`StorageUnavailable`, an OSError. The services and tasks already treat OSError as transient
(retried by the packet and report tasks, nothing half-written), so a bucket outage takes the same
paths as a full or unmounted disk. A missing object stays FileNotFoundError (also an OSError)."""

from __future__ import annotations

import functools

from botocore.exceptions import BotoCoreError, ClientError
from storages.backends.s3 import S3Storage as _S3Storage


class StorageUnavailable(OSError):
    """The object store did not answer, or refused the request."""


def _as_oserror(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"File storage unavailable: {error}") from error

    return wrapper


class S3Storage(_S3Storage):
    _open = _as_oserror(_S3Storage._open)
    _save = _as_oserror(_S3Storage._save)
    delete = _as_oserror(_S3Storage.delete)
    exists = _as_oserror(_S3Storage.exists)
    size = _as_oserror(_S3Storage.size)
    listdir = _as_oserror(_S3Storage.listdir)


def open_or_404(field, mode: str = "rb"):
    """A stored file for a download view; a record whose file is gone answers 404, not 500."""
    from django.http import Http404

    try:
        return field.open(mode)
    except FileNotFoundError:
        raise Http404("The stored file of this record is missing.") from None
