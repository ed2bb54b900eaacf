"""Issue 17, item 4: the lead's program horizon and exchange rates per RFP (rfp/costs.py normalises to them)."""

import django.db.models.deletion
import pghistory.utils
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rfp", "0010_questionnaire_responses"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ExchangeRate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("currency", models.CharField(max_length=3)),
                ("rate", models.DecimalField(decimal_places=8, max_digits=18)),
                ("as_of", models.DateField()),
                (
                    "source",
                    models.CharField(
                        blank=True, help_text="Where the rate comes from (e.g. ECB reference).", max_length=200
                    ),
                ),
                ("recorded_at", models.DateTimeField(auto_now=True)),
                (
                    "recorded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "rfp",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="exchange_rates", to="rfp.rfp"
                    ),
                ),
            ],
            options={
                "ordering": ["currency"],
            },
        ),
        migrations.CreateModel(
            name="ExchangeRateEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("rate", models.DecimalField(decimal_places=8, max_digits=18)),
                ("as_of", models.DateField()),
                (
                    "source",
                    models.CharField(
                        blank=True, help_text="Where the rate comes from (e.g. ECB reference).", max_length=200
                    ),
                ),
                ("recorded_at", models.DateTimeField(auto_now=True)),
                (
                    "pgh_obj",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="events",
                        to="rfp.exchangerate",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        related_query_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "rfp",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        related_query_name="+",
                        to="rfp.rfp",
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="ProgramHorizon",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "years",
                    models.DecimalField(decimal_places=2, help_text="How many years the program runs.", max_digits=5),
                ),
                (
                    "batches_per_year",
                    models.DecimalField(
                        blank=True,
                        decimal_places=2,
                        help_text="GMP batches the program needs a year.",
                        max_digits=9,
                        null=True,
                    ),
                ),
                ("campaigns_per_year", models.DecimalField(blank=True, decimal_places=2, max_digits=9, null=True)),
                (
                    "fte_months_per_year",
                    models.DecimalField(
                        blank=True,
                        decimal_places=2,
                        help_text="CRO effort the program needs; FTE lines are rescaled to it. Or give an effort factor.",
                        max_digits=9,
                        null=True,
                        verbose_name="FTE-months per year",
                    ),
                ),
                (
                    "effort_factor",
                    models.DecimalField(
                        blank=True,
                        decimal_places=3,
                        help_text="Multiplies the vendors' own FTE and time-and-materials effort (1 = as quoted).",
                        max_digits=6,
                        null=True,
                    ),
                ),
                (
                    "volume_per_year",
                    models.DecimalField(
                        blank=True,
                        decimal_places=3,
                        help_text="Quantity needed a year (take-or-pay).",
                        max_digits=14,
                        null=True,
                    ),
                ),
                ("volume_unit", models.CharField(blank=True, max_length=40)),
                ("needs_development", models.BooleanField(default=False, verbose_name="needs development")),
                ("needs_tech_transfer", models.BooleanField(default=False, verbose_name="needs technology transfer")),
                ("base_currency", models.CharField(default="USD", max_length=3)),
                ("notes", models.TextField(blank=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "rfp",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="horizon", to="rfp.rfp"
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "verbose_name": "program horizon",
            },
        ),
        migrations.CreateModel(
            name="ProgramHorizonEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                (
                    "years",
                    models.DecimalField(decimal_places=2, help_text="How many years the program runs.", max_digits=5),
                ),
                (
                    "batches_per_year",
                    models.DecimalField(
                        blank=True,
                        decimal_places=2,
                        help_text="GMP batches the program needs a year.",
                        max_digits=9,
                        null=True,
                    ),
                ),
                ("campaigns_per_year", models.DecimalField(blank=True, decimal_places=2, max_digits=9, null=True)),
                (
                    "fte_months_per_year",
                    models.DecimalField(
                        blank=True,
                        decimal_places=2,
                        help_text="CRO effort the program needs; FTE lines are rescaled to it. Or give an effort factor.",
                        max_digits=9,
                        null=True,
                        verbose_name="FTE-months per year",
                    ),
                ),
                (
                    "effort_factor",
                    models.DecimalField(
                        blank=True,
                        decimal_places=3,
                        help_text="Multiplies the vendors' own FTE and time-and-materials effort (1 = as quoted).",
                        max_digits=6,
                        null=True,
                    ),
                ),
                (
                    "volume_per_year",
                    models.DecimalField(
                        blank=True,
                        decimal_places=3,
                        help_text="Quantity needed a year (take-or-pay).",
                        max_digits=14,
                        null=True,
                    ),
                ),
                ("volume_unit", models.CharField(blank=True, max_length=40)),
                ("needs_development", models.BooleanField(default=False, verbose_name="needs development")),
                ("needs_tech_transfer", models.BooleanField(default=False, verbose_name="needs technology transfer")),
                ("base_currency", models.CharField(default="USD", max_length=3)),
                ("notes", models.TextField(blank=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "pgh_obj",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="events",
                        to="rfp.programhorizon",
                    ),
                ),
                (
                    "rfp",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        related_query_name="+",
                        to="rfp.rfp",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        related_query_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.AddConstraint(
            model_name="exchangerate",
            constraint=models.UniqueConstraint(fields=("rfp", "currency"), name="exchange_rate_once"),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="exchangerate",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rfp_exchangerateevent" ("as_of", "currency", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "rate", "recorded_at", "recorded_by_id", "rfp_id", "source") VALUES (NEW."as_of", NEW."currency", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'insert\', NEW."id", NEW."rate", NEW."recorded_at", NEW."recorded_by_id", NEW."rfp_id", NEW."source"); RETURN NULL;',
                    hash="5c129ab9cf910cf4ec520913d9e0806eeda259e3",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_94a82",
                    table="rfp_exchangerate",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="exchangerate",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "rfp_exchangerateevent" ("as_of", "currency", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "rate", "recorded_at", "recorded_by_id", "rfp_id", "source") VALUES (NEW."as_of", NEW."currency", NEW."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'update\', NEW."id", NEW."rate", NEW."recorded_at", NEW."recorded_by_id", NEW."rfp_id", NEW."source"); RETURN NULL;',
                    hash="30856adb400d6ac02e009e785bdbd8aaafdc436c",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_7a52d",
                    table="rfp_exchangerate",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="exchangerate",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rfp_exchangerateevent" ("as_of", "currency", "id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "rate", "recorded_at", "recorded_by_id", "rfp_id", "source") VALUES (OLD."as_of", OLD."currency", OLD."id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'delete\', OLD."id", OLD."rate", OLD."recorded_at", OLD."recorded_by_id", OLD."rfp_id", OLD."source"); RETURN NULL;',
                    hash="6997e2feb197f172fc0a60f9e0497cf03ca42b14",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_ef9ac",
                    table="rfp_exchangerate",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="exchangerateevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="7b4a1a3b679add57324fc87aef52c1eaa8da64c5",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_d5801",
                    table="rfp_exchangerateevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="programhorizon",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rfp_programhorizonevent" ("base_currency", "batches_per_year", "campaigns_per_year", "effort_factor", "fte_months_per_year", "id", "needs_development", "needs_tech_transfer", "notes", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "rfp_id", "updated_at", "updated_by_id", "volume_per_year", "volume_unit", "years") VALUES (NEW."base_currency", NEW."batches_per_year", NEW."campaigns_per_year", NEW."effort_factor", NEW."fte_months_per_year", NEW."id", NEW."needs_development", NEW."needs_tech_transfer", NEW."notes", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'insert\', NEW."id", NEW."rfp_id", NEW."updated_at", NEW."updated_by_id", NEW."volume_per_year", NEW."volume_unit", NEW."years"); RETURN NULL;',
                    hash="699e9e83b1aeb51bb2a06d0b92bdeb6fd085be1b",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_26e36",
                    table="rfp_programhorizon",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="programhorizon",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "rfp_programhorizonevent" ("base_currency", "batches_per_year", "campaigns_per_year", "effort_factor", "fte_months_per_year", "id", "needs_development", "needs_tech_transfer", "notes", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "rfp_id", "updated_at", "updated_by_id", "volume_per_year", "volume_unit", "years") VALUES (NEW."base_currency", NEW."batches_per_year", NEW."campaigns_per_year", NEW."effort_factor", NEW."fte_months_per_year", NEW."id", NEW."needs_development", NEW."needs_tech_transfer", NEW."notes", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'update\', NEW."id", NEW."rfp_id", NEW."updated_at", NEW."updated_by_id", NEW."volume_per_year", NEW."volume_unit", NEW."years"); RETURN NULL;',
                    hash="f5a63a47e29d42d882d1fd67f4f6142f343fde70",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_ae19e",
                    table="rfp_programhorizon",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="programhorizon",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "rfp_programhorizonevent" ("base_currency", "batches_per_year", "campaigns_per_year", "effort_factor", "fte_months_per_year", "id", "needs_development", "needs_tech_transfer", "notes", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "rfp_id", "updated_at", "updated_by_id", "volume_per_year", "volume_unit", "years") VALUES (OLD."base_currency", OLD."batches_per_year", OLD."campaigns_per_year", OLD."effort_factor", OLD."fte_months_per_year", OLD."id", OLD."needs_development", OLD."needs_tech_transfer", OLD."notes", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'delete\', OLD."id", OLD."rfp_id", OLD."updated_at", OLD."updated_by_id", OLD."volume_per_year", OLD."volume_unit", OLD."years"); RETURN NULL;',
                    hash="bdc49ba7471f67f8724b6f0199b656e40b1625fd",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_e5f4e",
                    table="rfp_programhorizon",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="programhorizonevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="9fc92bb690ba478061b2bcaf9067760ae72193c4",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_1d505",
                    table="rfp_programhorizonevent",
                    when="BEFORE",
                ),
            ),
        ),
    ]


# The trail-search indexes (as 0010) on the new event tables.
EVENT_TABLES = ["rfp_programhorizonevent", "rfp_exchangerateevent"]


def _create(table: str) -> str:
    return (
        f'CREATE INDEX IF NOT EXISTS "{table}_pgh_at_idx" ON "{table}" (pgh_created_at, pgh_id); '
        f'CREATE INDEX IF NOT EXISTS "{table}_pgh_user_idx" ON "{table}" ((pgh_context -> \'user\'), pgh_created_at, pgh_id);'
    )


def _drop(table: str) -> str:
    return f'DROP INDEX IF EXISTS "{table}_pgh_at_idx"; DROP INDEX IF EXISTS "{table}_pgh_user_idx";'


Migration.operations += [migrations.RunSQL(_create(t), reverse_sql=_drop(t)) for t in EVENT_TABLES]
