"""The OpenAPI schema documents the error answers that DRF gives on every route, not only the success.

drf-spectacular documents what a view returns on success plus whatever @extend_schema adds. The
answers that come from the framework itself are the same on every route, so they are added here
rather than on each view: 401 and 403 where a sign-in is needed, 404 where the path names a record
(or a page of a list), 400 where there is a body or a filter to validate, 415 where there is a body,
and 503 everywhere (the database is briefly unreachable: retry after the Retry-After seconds).
An operation's own @extend_schema entry for a code wins.

A service's refusal (core.errors.ServiceError) is answered by core.errors.api_exception_handler in
these same shapes: field errors as FIELD_ERRORS (400), the others as ERROR_DETAIL under "detail"
(403, 404, and 409 for a conflict or a locked record, which an operation documents itself).
"""

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR_DETAIL = inline_serializer("ErrorDetail", {"detail": serializers.CharField()})
# Messages by field name (a list of strings, or an object for nested fields), or under non_field_errors or detail.
FIELD_ERRORS = inline_serializer(
    "FieldErrors",
    {
        "detail": serializers.CharField(required=False),
        "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
    },
)
VALIDATION_ERROR = OpenApiResponse(
    FIELD_ERRORS,
    description="Refused as invalid: messages by field name (a list of strings, or an object for nested fields), "
    "or under non_field_errors or detail.",
)

UNPAGED_QUERY = {"page", "page_size", "ordering"}


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ERROR_DETAIL, description=description)


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        query = {p["name"] for p in parameters if p["in"] == "query"}
        has_body = "requestBody" in operation
        signed_in = bool(operation.get("security")) and {} not in operation["security"]
        errors = {}
        if has_body or query - UNPAGED_QUERY:
            errors["400"] = VALIDATION_ERROR
        if signed_in:
            errors["401"] = _error("No valid credentials were given.")
            errors["403"] = _error("Your role, or your part in this record, does not allow this.")
        if any(p["in"] == "path" for p in parameters) or "page" in query:
            errors["404"] = _error("No such record (or page), or not one that you may see.")
        if has_body:
            errors["415"] = _error("The request body's media type is not one that this operation reads.")
        errors["503"] = _error("The database is briefly unreachable (a restart or failover): retry after Retry-After.")
        responses = operation["responses"]
        for code, response in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code)
        operation["responses"] = dict(sorted(responses.items()))
        return operation
