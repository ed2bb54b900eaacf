# The packet texts a sponsor sends (issue 16): a new version of every kind's RFP template, from
# rfp.defaults.template_for; version 1 and any revision stay (packets point at the version they used).

from django.db import migrations


def seed(apps, schema_editor):
    from rfp import reference

    reference.seed_packet_texts(apps)


class Migration(migrations.Migration):
    dependencies = [("rfp", "0007_portal")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
