from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("rfp", "0011_costs")]

    operations: list = []
