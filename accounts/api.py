"""REST API of the user's own notifications: /api/v1/notifications/."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
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


def register_routes(router) -> None:
    router.register("notifications", NotificationViewSet, basename="notification")
