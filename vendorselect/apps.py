from django.apps import AppConfig


class VendorSelectConfig(AppConfig):
    name = "vendorselect"
    verbose_name = "VendorSelect"

    def ready(self):
        from vendorselect import trail  # noqa: F401 - registers the deploy check
