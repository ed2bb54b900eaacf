from django.apps import AppConfig


class VendorSelectConfig(AppConfig):
    """The composition root: settings, URLs, the home and trail pages, commands that span apps."""

    name = "vendorselect"
    verbose_name = "VendorSelect"
