from django.apps import AppConfig


class VendorSelectConfig(AppConfig):
    name = "vendorselect"
    verbose_name = "VendorSelect"

    def ready(self):
        from vendorselect import records, trail  # noqa: F401 - trail registers the deploy check

        records.connect()
