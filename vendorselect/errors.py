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


def request_object(request) -> Mapping:
    """The request body when it is an object (JSON object or form); anything else (a JSON list, a number)
    is refused with 400, as DRF's serializers refuse it."""
    if not isinstance(request.data, Mapping):
        raise ValidationError({"non_field_errors": [f"Expected an object, got {type(request.data).__name__}."]})
    return request.data
