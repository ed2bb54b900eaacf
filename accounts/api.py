"""REST API of the user's own notifications (/api/v1/notifications/) and the token endpoint
(/api/v1/auth/token/), which honours the sign-in lockout."""

import math

from django.db.models import Max
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import notifications
from accounts.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "subject", "body", "url", "created_at", "read_at"]
        read_only_fields = fields


MARKED = inline_serializer("NotificationsMarked", {"marked": serializers.IntegerField()})


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    """Your inbox; ?unread=true for the unread ones. Nobody sees another user's notifications."""

    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()  # for the schema; requests use get_queryset
    filterset_fields = ["kind"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        notes = notifications.inbox(self.request.user)
        if self.request.query_params.get("unread") == "true":
            notes = notes.filter(read_at=None)
        return notes

    @extend_schema(request=None, responses={200: MARKED})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        return Response({"marked": notifications.mark_read(request.user, [self.get_object().pk])})

    @extend_schema(request=None, responses={200: MARKED})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": notifications.mark_read(request.user)})


LOCKED_OUT = OpenApiResponse(
    inline_serializer("LockedOut", {"detail": serializers.CharField()}),
    description="Too many failed sign-in attempts for this user name from this address: retry after the "
    "Retry-After seconds (the cool-off), or ask an administrator to unlock it.",
)


def lockout_retry_after(request, credentials: dict) -> int | None:
    """Seconds until the axes cool-off of this user name and address ends (None: locked until an
    administrator unlocks it). The cool-off runs from the latest failure, as axes counts it."""
    from axes.handlers.proxy import AxesProxyHandler
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    if cool_off is None:
        return None
    handler = AxesProxyHandler.get_implementation()
    latest = None
    if hasattr(handler, "get_user_attempts"):  # the database handler (the default, and ours)
        for attempts in handler.get_user_attempts(request, credentials):
            last = attempts.aggregate(last=Max("attempt_time"))["last"]
            if last and (latest is None or last > latest):
                latest = last
    if latest is None:  # another handler: the whole cool-off is the safe upper bound
        return max(1, math.ceil(cool_off.total_seconds()))
    return max(1, math.ceil((latest + cool_off - timezone.now()).total_seconds()))


def lockout_message(retry_after: int | None) -> str:
    if retry_after is None:
        return (
            "Too many failed sign-in attempts: sign-in for this user name from your address is locked. "
            "Ask an administrator to unlock it."
        )
    minutes = math.ceil(retry_after / 60)
    return (
        "Too many failed sign-in attempts: sign-in for this user name from your address is locked for "
        f"{minutes} more minute{'s' if minutes != 1 else ''}. Try again after the Retry-After seconds, "
        "or ask an administrator to unlock it."
    )


class LockoutAwareObtainAuthToken(ObtainAuthToken):
    """Exchange a user name and password for the user's API token.

    The sign-in lockout applies here as on the login page: every wrong password counts, and once
    the user name is locked from this address the answer is 429 with Retry-After (seconds left of
    the cool-off), even for the right password."""

    @extend_schema(responses={200: ObtainAuthToken.serializer_class, 429: LOCKED_OUT})
    def post(self, request, *args, **kwargs):
        from axes.handlers.proxy import AxesProxyHandler

        serializer = self.get_serializer(data=request.data)
        if serializer.is_valid():
            token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
            return Response({"token": token.key})
        username = request.data.get("username")
        if isinstance(username, str) and username:
            # The serializer's authenticate() ran axes on this request: a wrong password was
            # counted, and a locked-out user was refused before the password was checked.
            credentials = {"username": username}
            AxesProxyHandler.update_request(request)
            if not AxesProxyHandler.is_allowed(request, credentials):
                retry_after = lockout_retry_after(request, credentials)
                response = Response({"detail": lockout_message(retry_after)}, status=status.HTTP_429_TOO_MANY_REQUESTS)
                if retry_after is not None:
                    response["Retry-After"] = str(retry_after)
                return response
        return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)


def register_routes(router) -> None:
    router.register("notifications", NotificationViewSet, basename="notification")
