"""The one refusal type that services raise and views and API views turn into answers."""

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
