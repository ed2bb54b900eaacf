import pghistory
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from core import records, trail


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    # A new password is recorded as an event, without the hash (old hashes are not kept anywhere).
    pghistory.UpdateEvent("password_change", condition=pghistory.AnyChange("password")),
    exclude=["password", "last_login"],
)
class User(AbstractUser):
    """Own user model from day one, so that signatures and profiles can grow without a swap."""

    class Meta:
        ordering = ["username"]

    @property
    def printed_name(self) -> str:
        return self.get_full_name() or self.username


@pghistory.track(pghistory.InsertEvent())
class Signature(models.Model):
    """A Part 11-style electronic signature: who, when (UTC), what it means, bound to exactly what was signed.

    The hash covers the signed record's identity (content type and primary key) and a canonical
    JSON snapshot of its content, so a later change of the record, or the signature attached to
    another record, no longer verifies. Rows are never updated or deleted.
    """

    class Meaning(models.TextChoices):
        AUTHORED = "authored", "Authored and approved (report)"
        APPROVED = "approved", "Approved"
        # QA's approval is a distinct meaning from a business approval (Part 11 §11.50).
        APPROVED_FOR_QUALITY = "approved_quality", "Approved for quality"
        REJECTED = "rejected", "Rejected"
        RETURNED = "returned", "Returned for changes"
        REVIEWED = "reviewed", "Reviewed"  # what a return was signed as before "returned" existed
        OPENED = "opened", "Opened the sealed proposals"

    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures")
    printed_name = models.CharField(max_length=300)
    signed_at = models.DateTimeField(default=timezone.now)
    meaning = models.CharField(max_length=20, choices=Meaning.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    snapshot = models.JSONField()
    record_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["signed_at", "pk"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        # Beyond the model's refusal: the database itself refuses to change or remove a signature.
        triggers = [records.immutable("signature_immutable")]

    def __str__(self) -> str:
        return f"{self.printed_name}, {self.get_meaning_display()}, {self.signed_at:%Y-%m-%d %H:%M:%S} UTC"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Signatures cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Signatures cannot be deleted.")


@pghistory.track(pghistory.InsertEvent())
class RefusedAttempt(models.Model):
    """A regulated action that was refused (self-approval, stale snapshot, wrong password...).

    Kept for the audit trail: an inspector asks not only what was signed but what was tried.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=60)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    reason = models.TextField()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        triggers = [records.immutable("refused_attempt_immutable")]
        permissions = [("view_audit_trail", "Can search and export the audit trail")]

    def __str__(self) -> str:
        return f"{self.user} {self.action}: {self.reason}"


class Notification(models.Model):
    """An in-app inbox entry; the same message goes out by e-mail when it is created."""

    class Kind(models.TextChoices):
        APPROVAL_REQUESTED = "approval_requested", "Shortlist awaits your approval"
        SHORTLIST_DECIDED = "shortlist_decided", "Your shortlist was decided"
        INVITED = "invited", "Invited to score"
        CAPA_OVERDUE = "capa_overdue", "CAPA overdue"
        REQUALIFICATION_DUE = "requalification_due", "Requalification due"
        RFP_QUESTION = "rfp_question", "A vendor asked a question"
        RFP_INTENT = "rfp_intent", "A vendor declared its intent"
        RFP_SUBMISSION = "rfp_submission", "A vendor submitted (sealed)"

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    subject = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    # Reminders repeat daily; the key makes one notification per recipient per subject matter.
    key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "key"], condition=~models.Q(key=""), name="notification_key_unique"
            )
        ]

    def __str__(self) -> str:
        return self.subject


# Role changes (group membership) are in the trail like any regulated change.
trail.track_links(User.groups, User.user_permissions, app_label="accounts")
