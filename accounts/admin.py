from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import User

admin.site.site_header = "VendorSelect administration"


class RecordAdmin(admin.ModelAdmin):
    """Regulated records in the admin: look, never touch. Changes go through the application,
    which enforces the rules (locks, signatures, reasons); nothing is ever hard-deleted."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class AccountAdmin(UserAdmin):
    """Administrators manage accounts and roles; an account is deactivated, never deleted,
    because signatures and the audit trail name it."""

    def has_delete_permission(self, request, obj=None):
        return False
