"""Supplier performance and scorecards: performance records, KPI settings, standing rules (versioned rows)
and the computed scorecards, their trail tables, and the defaults: the KPI settings, the first rule set and
the roles' permissions."""

import django.db.models.deletion
import pghistory.utils
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models

from oversight.performance_defaults import grant, load_defaults, revoke

# The trail search's indexes on each event table (as vendors' 0013_costcurve_indexes): plain SQL, the event
# models are pghistory's.
EVENT_TABLES = [
    "oversight_kpisettingevent",
    "oversight_performancerecordevent",
    "oversight_scorecardevent",
    "oversight_standingrulesevent",
]


def _create(table: str) -> str:
    return (
        f'CREATE INDEX IF NOT EXISTS "{table}_pgh_at_idx" ON "{table}" (pgh_created_at, pgh_id); '
        f'CREATE INDEX IF NOT EXISTS "{table}_pgh_user_idx" ON "{table}" '
        "((pgh_context -> 'user'), pgh_created_at, pgh_id);"
    )


def _drop(table: str) -> str:
    return f'DROP INDEX IF EXISTS "{table}_pgh_at_idx"; DROP INDEX IF EXISTS "{table}_pgh_user_idx";'


class Migration(migrations.Migration):
    initial = True
    dependencies = [
        ("vendors", "0014_site_selected"),
        ("audits", "0014_costcurve_indexes"),
        ("accounts", "0008_quality_assurance_role"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="KpiSetting",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kpi", models.CharField(max_length=30, unique=True)),
                ("weight", models.DecimalField(decimal_places=2, max_digits=5)),
                (
                    "scores_1_at",
                    models.DecimalField(decimal_places=3, max_digits=8, verbose_name="value that scores 1"),
                ),
                (
                    "scores_5_at",
                    models.DecimalField(decimal_places=3, max_digits=8, verbose_name="value that scores 5"),
                ),
                (
                    "threshold",
                    models.DecimalField(
                        blank=True,
                        decimal_places=3,
                        help_text="Flag when the KPI is worse than this (below it for a percentage, above it for a rate or count).",
                        max_digits=8,
                        null=True,
                    ),
                ),
                (
                    "severity",
                    models.CharField(
                        choices=[("warning", "Warning"), ("critical", "Critical")],
                        default="warning",
                        max_length=10,
                        verbose_name="flag severity",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "updated_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["pk"],
            },
        ),
        migrations.CreateModel(
            name="KpiSettingEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("kpi", models.CharField(max_length=30)),
                ("weight", models.DecimalField(decimal_places=2, max_digits=5)),
                (
                    "scores_1_at",
                    models.DecimalField(decimal_places=3, max_digits=8, verbose_name="value that scores 1"),
                ),
                (
                    "scores_5_at",
                    models.DecimalField(decimal_places=3, max_digits=8, verbose_name="value that scores 5"),
                ),
                (
                    "threshold",
                    models.DecimalField(
                        blank=True,
                        decimal_places=3,
                        help_text="Flag when the KPI is worse than this (below it for a percentage, above it for a rate or count).",
                        max_digits=8,
                        null=True,
                    ),
                ),
                (
                    "severity",
                    models.CharField(
                        choices=[("warning", "Warning"), ("critical", "Critical")],
                        default="warning",
                        max_length=10,
                        verbose_name="flag severity",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "pgh_obj",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="events",
                        to="oversight.kpisetting",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        db_constraint=False,
                        null=True,
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
        migrations.CreateModel(
            name="PerformanceRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("start", models.DateField(verbose_name="period start")),
                ("end", models.DateField(verbose_name="period end")),
                ("batches_started", models.PositiveIntegerField(default=0)),
                ("batches_released", models.PositiveIntegerField(default=0)),
                (
                    "batches_right_first_time",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Released without a deviation, rework or reprocessing.",
                        verbose_name="batches released right first time",
                    ),
                ),
                ("deviations_minor", models.PositiveIntegerField(default=0, verbose_name="minor deviations")),
                ("deviations_major", models.PositiveIntegerField(default=0, verbose_name="major deviations")),
                ("deviations_critical", models.PositiveIntegerField(default=0, verbose_name="critical deviations")),
                (
                    "oos_results",
                    models.PositiveIntegerField(
                        default=0, help_text="Confirmed out-of-specification results.", verbose_name="OOS results"
                    ),
                ),
                ("deliveries_due", models.PositiveIntegerField(default=0)),
                ("deliveries_on_time", models.PositiveIntegerField(default=0)),
                ("capas_due", models.PositiveIntegerField(default=0, verbose_name="CAPAs due")),
                ("capas_closed_on_time", models.PositiveIntegerField(default=0, verbose_name="CAPAs closed on time")),
                (
                    "change_notifications_due",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Changes the vendor made that required notifying the sponsor.",
                        verbose_name="change notifications due",
                    ),
                ),
                (
                    "change_notifications_on_time",
                    models.PositiveIntegerField(default=0, verbose_name="change notifications on time"),
                ),
                (
                    "complaints",
                    models.PositiveIntegerField(default=0, help_text="Quality complaints attributed to the site."),
                ),
                ("note", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "entered_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "site",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="performance_records",
                        to="vendors.site",
                    ),
                ),
            ],
            options={
                "ordering": ["site", "-start"],
            },
        ),
        migrations.CreateModel(
            name="PerformanceRecordEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("start", models.DateField(verbose_name="period start")),
                ("end", models.DateField(verbose_name="period end")),
                ("batches_started", models.PositiveIntegerField(default=0)),
                ("batches_released", models.PositiveIntegerField(default=0)),
                (
                    "batches_right_first_time",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Released without a deviation, rework or reprocessing.",
                        verbose_name="batches released right first time",
                    ),
                ),
                ("deviations_minor", models.PositiveIntegerField(default=0, verbose_name="minor deviations")),
                ("deviations_major", models.PositiveIntegerField(default=0, verbose_name="major deviations")),
                ("deviations_critical", models.PositiveIntegerField(default=0, verbose_name="critical deviations")),
                (
                    "oos_results",
                    models.PositiveIntegerField(
                        default=0, help_text="Confirmed out-of-specification results.", verbose_name="OOS results"
                    ),
                ),
                ("deliveries_due", models.PositiveIntegerField(default=0)),
                ("deliveries_on_time", models.PositiveIntegerField(default=0)),
                ("capas_due", models.PositiveIntegerField(default=0, verbose_name="CAPAs due")),
                ("capas_closed_on_time", models.PositiveIntegerField(default=0, verbose_name="CAPAs closed on time")),
                (
                    "change_notifications_due",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Changes the vendor made that required notifying the sponsor.",
                        verbose_name="change notifications due",
                    ),
                ),
                (
                    "change_notifications_on_time",
                    models.PositiveIntegerField(default=0, verbose_name="change notifications on time"),
                ),
                (
                    "complaints",
                    models.PositiveIntegerField(default=0, help_text="Quality complaints attributed to the site."),
                ),
                ("note", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "entered_by",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        related_query_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "pgh_obj",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="events",
                        to="oversight.performancerecord",
                    ),
                ),
                (
                    "site",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        related_query_name="+",
                        to="vendors.site",
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="Scorecard",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("period_end", models.DateField()),
                ("period_label", models.CharField(max_length=40)),
                ("score", models.DecimalField(decimal_places=2, max_digits=4, null=True)),
                (
                    "standing",
                    models.CharField(
                        choices=[
                            ("preferred", "Preferred"),
                            ("approved", "Approved"),
                            ("on_watch", "On watch"),
                            ("under_probation", "Under probation"),
                            ("not_rated", "Not rated"),
                        ],
                        max_length=20,
                    ),
                ),
                ("kpis", models.JSONField(default=dict)),
                ("flags", models.JSONField(default=list)),
                ("reasons", models.JSONField(default=list)),
                ("rules_version", models.PositiveIntegerField(null=True)),
                ("computed_at", models.DateTimeField(auto_now=True)),
                (
                    "record",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="scorecard",
                        to="oversight.performancerecord",
                    ),
                ),
                (
                    "site",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="scorecards", to="vendors.site"
                    ),
                ),
            ],
            options={
                "ordering": ["site", "-period_end"],
            },
        ),
        migrations.CreateModel(
            name="ScorecardEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("period_end", models.DateField()),
                ("period_label", models.CharField(max_length=40)),
                ("score", models.DecimalField(decimal_places=2, max_digits=4, null=True)),
                (
                    "standing",
                    models.CharField(
                        choices=[
                            ("preferred", "Preferred"),
                            ("approved", "Approved"),
                            ("on_watch", "On watch"),
                            ("under_probation", "Under probation"),
                            ("not_rated", "Not rated"),
                        ],
                        max_length=20,
                    ),
                ),
                ("kpis", models.JSONField(default=dict)),
                ("flags", models.JSONField(default=list)),
                ("reasons", models.JSONField(default=list)),
                ("rules_version", models.PositiveIntegerField(null=True)),
                ("computed_at", models.DateTimeField(auto_now=True)),
                (
                    "pgh_obj",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="events",
                        to="oversight.scorecard",
                    ),
                ),
                (
                    "record",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        related_query_name="+",
                        to="oversight.performancerecord",
                    ),
                ),
                (
                    "site",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        related_query_name="+",
                        to="vendors.site",
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="StandingRules",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.PositiveIntegerField(unique=True)),
                (
                    "bands",
                    models.JSONField(
                        help_text="[{standing, min_score, max_score}], best standing on the highest scores."
                    ),
                ),
                ("caps", models.JSONField(blank=True, default=list, help_text="[{condition, at_least, standing}]")),
                ("note", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "standing rules",
                "ordering": ["-version"],
            },
        ),
        migrations.CreateModel(
            name="StandingRulesEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("version", models.PositiveIntegerField()),
                (
                    "bands",
                    models.JSONField(
                        help_text="[{standing, min_score, max_score}], best standing on the highest scores."
                    ),
                ),
                ("caps", models.JSONField(blank=True, default=list, help_text="[{condition, at_least, standing}]")),
                ("note", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        related_query_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "pgh_obj",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="events",
                        to="oversight.standingrules",
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.AddConstraint(
            model_name="kpisetting",
            constraint=models.CheckConstraint(
                condition=models.Q(("weight__gte", 0)), name="kpisetting_weight_not_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="kpisetting",
            constraint=models.CheckConstraint(
                condition=models.Q(("scores_1_at", models.F("scores_5_at")), _negated=True),
                name="kpisetting_scale_not_flat",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="kpisetting",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "oversight_kpisettingevent" ("id", "kpi", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "scores_1_at", "scores_5_at", "severity", "threshold", "updated_at", "updated_by_id", "weight") VALUES (NEW."id", NEW."kpi", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'insert\', NEW."id", NEW."scores_1_at", NEW."scores_5_at", NEW."severity", NEW."threshold", NEW."updated_at", NEW."updated_by_id", NEW."weight"); RETURN NULL;',
                    hash="115b102be3ebd0dd3d3a58a07b213d07503bd1b1",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_75f5d",
                    table="oversight_kpisetting",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="kpisetting",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "oversight_kpisettingevent" ("id", "kpi", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "scores_1_at", "scores_5_at", "severity", "threshold", "updated_at", "updated_by_id", "weight") VALUES (NEW."id", NEW."kpi", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'update\', NEW."id", NEW."scores_1_at", NEW."scores_5_at", NEW."severity", NEW."threshold", NEW."updated_at", NEW."updated_by_id", NEW."weight"); RETURN NULL;',
                    hash="aabcfc5a33ccf327d9448401ec353a8fb53f4688",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_7a263",
                    table="oversight_kpisetting",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="kpisetting",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "oversight_kpisettingevent" ("id", "kpi", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "scores_1_at", "scores_5_at", "severity", "threshold", "updated_at", "updated_by_id", "weight") VALUES (OLD."id", OLD."kpi", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'delete\', OLD."id", OLD."scores_1_at", OLD."scores_5_at", OLD."severity", OLD."threshold", OLD."updated_at", OLD."updated_by_id", OLD."weight"); RETURN NULL;',
                    hash="0ec6fcff19d9e2f0ed1aeddbaa0ddb4b618e3aec",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_c3129",
                    table="oversight_kpisetting",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="kpisettingevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="33c246245bf4b4c162400a3186c5e8d37c976f96",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_3305d",
                    table="oversight_kpisettingevent",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AddIndex(
            model_name="performancerecord",
            index=models.Index(fields=["site", "-end"], name="performance_site_end"),
        ),
        migrations.AddConstraint(
            model_name="performancerecord",
            constraint=models.CheckConstraint(
                condition=models.Q(("end__gte", models.F("start"))), name="performance_period_ordered"
            ),
        ),
        migrations.AddConstraint(
            model_name="performancerecord",
            constraint=models.CheckConstraint(
                condition=models.Q(("batches_released__lte", models.F("batches_started"))),
                name="performance_released_le_started",
            ),
        ),
        migrations.AddConstraint(
            model_name="performancerecord",
            constraint=models.CheckConstraint(
                condition=models.Q(("batches_right_first_time__lte", models.F("batches_released"))),
                name="performance_rft_le_released",
            ),
        ),
        migrations.AddConstraint(
            model_name="performancerecord",
            constraint=models.CheckConstraint(
                condition=models.Q(("deliveries_on_time__lte", models.F("deliveries_due"))),
                name="performance_deliveries_le_due",
            ),
        ),
        migrations.AddConstraint(
            model_name="performancerecord",
            constraint=models.CheckConstraint(
                condition=models.Q(("capas_closed_on_time__lte", models.F("capas_due"))),
                name="performance_capas_le_due",
            ),
        ),
        migrations.AddConstraint(
            model_name="performancerecord",
            constraint=models.CheckConstraint(
                condition=models.Q(("change_notifications_on_time__lte", models.F("change_notifications_due"))),
                name="performance_changes_le_due",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="performancerecord",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "oversight_performancerecordevent" ("batches_released", "batches_right_first_time", "batches_started", "capas_closed_on_time", "capas_due", "change_notifications_due", "change_notifications_on_time", "complaints", "created_at", "deliveries_due", "deliveries_on_time", "deviations_critical", "deviations_major", "deviations_minor", "end", "entered_by_id", "id", "note", "oos_results", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "site_id", "start", "updated_at") VALUES (NEW."batches_released", NEW."batches_right_first_time", NEW."batches_started", NEW."capas_closed_on_time", NEW."capas_due", NEW."change_notifications_due", NEW."change_notifications_on_time", NEW."complaints", NEW."created_at", NEW."deliveries_due", NEW."deliveries_on_time", NEW."deviations_critical", NEW."deviations_major", NEW."deviations_minor", NEW."end", NEW."entered_by_id", NEW."id", NEW."note", NEW."oos_results", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'insert\', NEW."id", NEW."site_id", NEW."start", NEW."updated_at"); RETURN NULL;',
                    hash="3a15569f321c5e4097eccb14bcda559c0272c67d",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_3cbdf",
                    table="oversight_performancerecord",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="performancerecord",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "oversight_performancerecordevent" ("batches_released", "batches_right_first_time", "batches_started", "capas_closed_on_time", "capas_due", "change_notifications_due", "change_notifications_on_time", "complaints", "created_at", "deliveries_due", "deliveries_on_time", "deviations_critical", "deviations_major", "deviations_minor", "end", "entered_by_id", "id", "note", "oos_results", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "site_id", "start", "updated_at") VALUES (NEW."batches_released", NEW."batches_right_first_time", NEW."batches_started", NEW."capas_closed_on_time", NEW."capas_due", NEW."change_notifications_due", NEW."change_notifications_on_time", NEW."complaints", NEW."created_at", NEW."deliveries_due", NEW."deliveries_on_time", NEW."deviations_critical", NEW."deviations_major", NEW."deviations_minor", NEW."end", NEW."entered_by_id", NEW."id", NEW."note", NEW."oos_results", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'update\', NEW."id", NEW."site_id", NEW."start", NEW."updated_at"); RETURN NULL;',
                    hash="9b430429ee64721e9c20527f996aa19d18eb9fc1",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_785c1",
                    table="oversight_performancerecord",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="performancerecord",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "oversight_performancerecordevent" ("batches_released", "batches_right_first_time", "batches_started", "capas_closed_on_time", "capas_due", "change_notifications_due", "change_notifications_on_time", "complaints", "created_at", "deliveries_due", "deliveries_on_time", "deviations_critical", "deviations_major", "deviations_minor", "end", "entered_by_id", "id", "note", "oos_results", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "site_id", "start", "updated_at") VALUES (OLD."batches_released", OLD."batches_right_first_time", OLD."batches_started", OLD."capas_closed_on_time", OLD."capas_due", OLD."change_notifications_due", OLD."change_notifications_on_time", OLD."complaints", OLD."created_at", OLD."deliveries_due", OLD."deliveries_on_time", OLD."deviations_critical", OLD."deviations_major", OLD."deviations_minor", OLD."end", OLD."entered_by_id", OLD."id", OLD."note", OLD."oos_results", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'delete\', OLD."id", OLD."site_id", OLD."start", OLD."updated_at"); RETURN NULL;',
                    hash="25a89f3cb13c2c89e87c8dde0be96e215b9cbaac",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_5f1ce",
                    table="oversight_performancerecord",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="performancerecordevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="0aa8cebafdb2236b3764b8bbdf8d7fdbb3db021a",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_64fe9",
                    table="oversight_performancerecordevent",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AddIndex(
            model_name="scorecard",
            index=models.Index(fields=["site", "-period_end"], name="scorecard_site_latest"),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="scorecard",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "oversight_scorecardevent" ("computed_at", "flags", "id", "kpis", "period_end", "period_label", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "reasons", "record_id", "rules_version", "score", "site_id", "standing") VALUES (NEW."computed_at", NEW."flags", NEW."id", NEW."kpis", NEW."period_end", NEW."period_label", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'insert\', NEW."id", NEW."reasons", NEW."record_id", NEW."rules_version", NEW."score", NEW."site_id", NEW."standing"); RETURN NULL;',
                    hash="6965cb1f02498210af30bc45a84bca960f3f4855",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_0cd69",
                    table="oversight_scorecard",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="scorecard",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "oversight_scorecardevent" ("computed_at", "flags", "id", "kpis", "period_end", "period_label", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "reasons", "record_id", "rules_version", "score", "site_id", "standing") VALUES (NEW."computed_at", NEW."flags", NEW."id", NEW."kpis", NEW."period_end", NEW."period_label", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'update\', NEW."id", NEW."reasons", NEW."record_id", NEW."rules_version", NEW."score", NEW."site_id", NEW."standing"); RETURN NULL;',
                    hash="f42f638bc9a2dbc1d2ce40a074770e335894b22d",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_58603",
                    table="oversight_scorecard",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="scorecard",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "oversight_scorecardevent" ("computed_at", "flags", "id", "kpis", "period_end", "period_label", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "reasons", "record_id", "rules_version", "score", "site_id", "standing") VALUES (OLD."computed_at", OLD."flags", OLD."id", OLD."kpis", OLD."period_end", OLD."period_label", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'delete\', OLD."id", OLD."reasons", OLD."record_id", OLD."rules_version", OLD."score", OLD."site_id", OLD."standing"); RETURN NULL;',
                    hash="2202d68fdf06407099dd162fa31d0e481017f637",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_03f79",
                    table="oversight_scorecard",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="scorecardevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="40138e729d9ade8c650e82636dff0b46dd1e2668",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_a29ab",
                    table="oversight_scorecardevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="standingrules",
            trigger=pgtrigger.compiler.Trigger(
                name="standing_rules_immutable",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="cafab2b545833363a501990fb17d78959f0d36f7",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_standing_rules_immutable_e1a0b",
                    table="oversight_standingrules",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="standingrules",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "oversight_standingrulesevent" ("bands", "caps", "created_at", "created_by_id", "id", "note", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "version") VALUES (NEW."bands", NEW."caps", NEW."created_at", NEW."created_by_id", NEW."id", NEW."note", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'insert\', NEW."id", NEW."version"); RETURN NULL;',
                    hash="b49832a9dd2d2104981e5a06cbc0809667e147d0",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_e1433",
                    table="oversight_standingrules",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="standingrulesevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="bf21e154db87634cfef049884a6b47c70f26836c",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_50384",
                    table="oversight_standingrulesevent",
                    when="BEFORE",
                ),
            ),
        ),
        *(migrations.RunSQL(_create(table), reverse_sql=_drop(table)) for table in EVENT_TABLES),
        migrations.RunPython(load_defaults, migrations.RunPython.noop),
        migrations.RunPython(grant, revoke),
    ]
