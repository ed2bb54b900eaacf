from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = [("vendors", "0014_site_selected"), ("audits", "0014_costcurve_indexes")]

    operations: list = []
