from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("rfp", "0010_questionnaire_responses")]

    operations: list = []
