from django.contrib import admin

from accounts.admin import RecordAdmin
from vendors.models import Contact, DosageForm, Kind, Modality, Phase, RegulatoryInspection, Service, Site, Vendor


@admin.register(Kind, Modality, DosageForm, Phase)
class TermAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "position"]
    search_fields = ["name", "code"]


@admin.register(Service)
class ServiceAdmin(TermAdmin):
    list_display = ["name", "code", "group", "position"]
    list_filter = ["group"]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Vendor)
class VendorAdmin(RecordAdmin):
    list_display = ["name", "country", "status", "updated_at"]
    list_filter = ["status", "kinds"]
    search_fields = ["name", "legal_name"]
    inlines = [ContactInline]


@admin.register(Site)
class SiteAdmin(RecordAdmin):
    list_display = ["name", "vendor", "country", "quality_regime", "fei_number"]
    list_select_related = ["vendor"]
    search_fields = ["name", "vendor__name", "fei_number"]


@admin.register(RegulatoryInspection)
class InspectionAdmin(RecordAdmin):
    list_display = ["site", "agency", "end_date", "classification", "warning_letter"]
    list_select_related = ["site"]
    list_filter = ["agency", "classification", "warning_letter"]
