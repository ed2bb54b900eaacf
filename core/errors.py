"""Domain errors: the one family of refusals that services raise, and the two places that turn them
into answers: `api_exception_handler` (DRF's EXCEPTION_HANDLER) for the API and `refusals_on_page`
for the HTML pages. Views and API views call a service and let its refusal go; no app maps
errors to responses itself.

A refusal carries the message for the user, the field it concerns (if any) and its kind; the
kind gives the HTTP status. Failures that are not the user's to fix (a PDF renderer that crashed,
a broker that is down) are not domain errors: they stay ordinary exceptions and become a 500 or a
task retry. File storage that does not answer is both: `core.storage.StorageUnavailable` is a refusal
of kind "unavailable" (503 with its message, and Retry-After) and an OSError that the tasks retry.
"""

from collections.abc import Mapping
from enum import StrEnum

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Kind(StrEnum):
    """What kind of refusal: it decides the HTTP status and how a page shows it."""

    INVALID = "invalid"  # the input is wrong: 400, the message under the field
    FORBIDDEN = "forbidden"  # the user may not do this: 403
    NOT_FOUND = "not_found"  # no such record, or not one the user may see: 404
    CONFLICT = "conflict"  # the record's state does not allow it now: 409
    LOCKED = "locked"  # the record is signed or closed, final: 409 like a conflict (an amendment is the way)
    GONE = "gone"  # it existed and is spent for good (a used one-time link): 410
    THROTTLED = "throttled"  # too many attempts, or too soon again: 429
    UNAVAILABLE = "unavailable"  # a service it needs is down (mail, virus scanner, file storage); try later: 503


STATUS = {
    Kind.INVALID: 400,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.LOCKED: 409,
    Kind.GONE: 410,
    Kind.THROTTLED: 429,
    Kind.UNAVAILABLE: 503,
}
KIND_OF_STATUS = {
    400: Kind.INVALID,
    403: Kind.FORBIDDEN,
    404: Kind.NOT_FOUND,
    409: Kind.CONFLICT,
    410: Kind.GONE,
    429: Kind.THROTTLED,
    503: Kind.UNAVAILABLE,
}


class ServiceError(Exception):
    """A refused action, with a message for the user, the field it concerns (if any) and its kind.

    ``ServiceError("Describe it.", "description")`` is invalid input; give the kind
    (``kind=Kind.CONFLICT``) or, as the services have long done, the status (``status=409``).
    A subclass may fix its kind (and field) as class attributes: `RecordLocked` is always locked,
    a wrong signature password always concerns "password".
    """

    kind: Kind = Kind.INVALID
    field: str | None = None

    def __init__(self, message: str, field: str | None = None, status: int | None = None, *, kind: Kind | None = None):
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field
        if kind is None and status is not None:
            if status not in KIND_OF_STATUS:
                raise ValueError(f"No kind of refusal answers {status}.")
            kind = KIND_OF_STATUS[status]
        if kind is not None:
            self.kind = Kind(kind)

    @property
    def status(self) -> int:
        return STATUS[self.kind]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, field={self.field!r}, kind={self.kind.value!r})"


def refusal_body(error: ServiceError) -> dict:
    """Field errors under the field's name (a list, as DRF's serializers give them), others under "detail"."""
    return {error.field: [error.message]} if error.field else {"detail": error.message}


RETRY_AFTER_SECONDS = 30  # an unavailable service: when a client should try again


def refusal_response(error: ServiceError) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if error.kind == Kind.UNAVAILABLE else None
    return Response(refusal_body(error), status=error.status, headers=headers)


def api_exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: a domain error becomes its refusal; anything else is DRF's."""
    if isinstance(exc, ServiceError):
        return refusal_response(exc)
    return drf_exception_handler(exc, context)


class refusals_on_page:  # lower case: it reads as a function, ``with refusals_on_page(request) as outcome``
    """The page side of a service call::

        with refusals_on_page(request, form, success="Saved.") as outcome:
            services.thing_change(...)
        if outcome.refused: ...

    A domain error raised in the block stops there: its message goes to the form, under its field
    when the form has that field (else as a non-field error), or, without a form, to the page's
    messages (``notify=False``: nowhere, the caller shows ``outcome.error`` itself). Forbidden
    becomes Django's PermissionDenied (403) and not found Http404. ``success`` is flashed when the
    block ends without a refusal. Any other exception passes through untouched.
    """

    def __init__(self, request, form=None, *, success: str = "", notify: bool = True):
        self.request, self.form, self.success, self.notify = request, form, success, notify
        self.error: ServiceError | None = None

    @property
    def refused(self) -> bool:
        return self.error is not None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if exc is None:
            if self.success:
                messages.success(self.request, self.success)
            return False
        if not isinstance(exc, ServiceError):
            return False
        if exc.kind == Kind.FORBIDDEN:
            raise PermissionDenied(exc.message) from None
        if exc.kind == Kind.NOT_FOUND:
            raise Http404(exc.message) from None
        self.error = exc
        if self.form is not None:
            self.form.add_error(exc.field if exc.field in self.form.fields else None, exc.message)
        elif self.notify:
            messages.error(self.request, exc.message)
        return True


def contains_nul(value) -> bool:
    """Whether a string, or any key or string in a JSON structure, holds a NUL character: PostgreSQL
    stores none, in text or in jsonb, and refuses the whole statement."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


def request_object(request) -> Mapping:
    """The request body when it is an object (JSON object or form) without NUL characters; anything
    else (a JSON list, a number) is refused with 400, as DRF's serializers refuse it."""
    data = request.data
    if not isinstance(data, Mapping):
        raise ValidationError({"non_field_errors": [f"Expected an object, got {type(data).__name__}."]})
    items = data.lists() if hasattr(data, "lists") else data.items()
    refused = {str(key): ["Null characters are not allowed."] for key, value in items if contains_nul([key, value])}
    if refused:
        raise ValidationError(refused)
    return data
