from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("oversight", "0001_performance")]

    operations: list = []
