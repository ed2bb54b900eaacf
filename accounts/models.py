from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    """Own user model from day one, so that signatures and profiles can grow without a swap."""

    class Meta:
        ordering = ["username"]

    @property
    def printed_name(self) -> str:
        return self.get_full_name() or self.username


class Signature(models.Model):
    """A Part 11-style electronic signature: who, when (UTC), what it means, bound to exactly what was signed.

    The hash covers the signed record's identity (content type and primary key) and a canonical
    JSON snapshot of its content, so a later change of the record, or the signature attached to
    another record, no longer verifies. Rows are never updated or deleted.
    """

    class Meaning(models.TextChoices):
        AUTHORED = "authored", "Authored and approved (report)"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        REVIEWED = "reviewed", "Reviewed"

    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures")
    printed_name = models.CharField(max_length=300)
    signed_at = models.DateTimeField(default=timezone.now)
    meaning = models.CharField(max_length=10, choices=Meaning.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    snapshot = models.JSONField()
    record_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["signed_at", "pk"]
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.printed_name}, {self.get_meaning_display()}, {self.signed_at:%Y-%m-%d %H:%M:%S} UTC"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Signatures cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Signatures cannot be deleted.")
