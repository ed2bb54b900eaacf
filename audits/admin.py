from django.contrib import admin

from accounts.admin import RecordAdmin
from audits.models import Audit, Capa, Finding


@admin.register(Audit)
class AuditAdmin(RecordAdmin):
    list_display = ["site", "type", "planned_start", "status", "lead_auditor"]
    list_select_related = ["site", "lead_auditor"]
    readonly_fields = ["status"]


admin.site.register([Finding, Capa], RecordAdmin)
