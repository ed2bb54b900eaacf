"""The one refusal type that services raise and views and API views turn into answers."""

from collections.abc import Mapping

from rest_framework.exceptions import ValidationError
from rest_framework.response import Response


class ServiceError(Exception):
    """A refused action, with a message for the user, the field it concerns (if any) and an HTTP status."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


def refusal_response(error: ServiceError) -> Response:
    """400-style field errors under the field's name, other refusals under "detail"."""
    body = {error.field: [error.message]} if error.field else {"detail": error.message}
    return Response(body, status=error.status)


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
