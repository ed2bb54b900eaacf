from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("scoring", "0013_costcurve_indexes")]

    operations: list = []
