from django.db import migrations, models

# Two derived evidence kinds from the vendors' opened proposals (issue 17): questionnaire compliance
# and the price criterion (lowest-cost-scaled total program cost). Choices only: no data changes.
EVIDENCE = models.CharField(
    blank=True,
    choices=[
        ("", "Scored by evaluators"),
        ("scope_fit", "Derived: coverage of required scope"),
        ("regulatory", "Derived: regulatory inspection history"),
        ("scale", "Derived: sites' scale ranges"),
        ("quality", "Derived: audit findings and CAPA"),
        ("compliance", "Derived: questionnaire compliance answers"),
        ("price", "Derived: total program cost (lowest-cost-scaled)"),
    ],
    max_length=20,
)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0013_costcurve_indexes")]

    operations = [
        migrations.AlterField(model_name="criterion", name="evidence", field=EVIDENCE),
        migrations.AlterField(model_name="criterionevent", name="evidence", field=EVIDENCE),
    ]
