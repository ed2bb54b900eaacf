"""Quality agreements (responsibility matrix, versions, vendor countersignature) and risk-based
requalification (the versioned risk matrix, seeded with its first version, and the risk assessments)."""

import django.core.validators
import django.db.models.deletion
import pghistory.utils
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models

# Indexes for QA's trail search (core.trail.Search) on each event table, as audits' 0014_costcurve_indexes.
EVENT_TABLES = [
    "oversight_qualityagreementevent",
    "oversight_agreementlineevent",
    "oversight_vendorsignatureevent",
    "oversight_riskmatrixevent",
    "oversight_riskassessmentevent",
]


def _create_indexes(table: str) -> str:
    return (
        f'CREATE INDEX IF NOT EXISTS "{table}_pgh_at_idx" ON "{table}" (pgh_created_at, pgh_id); '
        f'CREATE INDEX IF NOT EXISTS "{table}_pgh_user_idx" ON "{table}" ((pgh_context -> \'user\'), pgh_created_at, pgh_id);'
    )


def _drop_indexes(table: str) -> str:
    return f'DROP INDEX IF EXISTS "{table}_pgh_at_idx"; DROP INDEX IF EXISTS "{table}_pgh_user_idx";'


def first_matrix(apps, schema_editor):
    # As oversight.defaults.DEFAULT_BANDS was when this migration was written (kept here: migrations stay fixed).
    bands = [
        {"low": 0, "high": 29, "months": 36, "label": "Low risk"},
        {"low": 30, "high": 49, "months": 24, "label": "Medium risk"},
        {"low": 50, "high": 100, "months": 12, "label": "High risk"},
    ]
    RiskMatrix = apps.get_model("oversight", "RiskMatrix")
    RiskMatrix.objects.get_or_create(version=1, defaults={"bands": bands, "note": "Default matrix"})


class Migration(migrations.Migration):
    dependencies = [
        ("oversight", "0001_performance"),
        ("vendors", "0014_site_selected"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AgreementLine",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("section", models.CharField(max_length=30)),
                ("position", models.PositiveSmallIntegerField(default=0)),
                ("text", models.CharField(max_length=500)),
                (
                    "owner",
                    models.CharField(
                        blank=True,
                        choices=[("sponsor", "Sponsor"), ("vendor", "Vendor"), ("both", "Both")],
                        max_length=7,
                    ),
                ),
            ],
            options={
                "ordering": ["agreement", "position", "pk"],
            },
        ),
        migrations.CreateModel(
            name="QualityAgreement",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.PositiveSmallIntegerField()),
                (
                    "partner_kind",
                    models.CharField(choices=[("CMO", "CMO"), ("CDMO", "CDMO"), ("CRO", "CRO")], max_length=4),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("sponsor_signed", "Signed by QA, awaiting the vendor"),
                            ("effective", "Effective"),
                            ("superseded", "Superseded"),
                        ],
                        default="draft",
                        max_length=15,
                    ),
                ),
                (
                    "change_notice_days",
                    models.PositiveSmallIntegerField(
                        default=90,
                        help_text="How many days before a change takes effect the vendor must notify the sponsor.",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(730),
                        ],
                        verbose_name="change-control notice period (days)",
                    ),
                ),
                ("review_due", models.DateField(verbose_name="review due")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("sponsor_signed_at", models.DateTimeField(blank=True, null=True)),
                ("effective_on", models.DateField(blank=True, null=True)),
                (
                    "activity",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="vendors.service"
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "previous",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="oversight.qualityagreement",
                    ),
                ),
                (
                    "site",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="quality_agreements",
                        to="vendors.site",
                    ),
                ),
            ],
            options={
                "ordering": ["site", "activity", "-version"],
            },
        ),
        migrations.CreateModel(
            name="AgreementLineEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("section", models.CharField(max_length=30)),
                ("position", models.PositiveSmallIntegerField(default=0)),
                ("text", models.CharField(max_length=500)),
                (
                    "owner",
                    models.CharField(
                        blank=True,
                        choices=[("sponsor", "Sponsor"), ("vendor", "Vendor"), ("both", "Both")],
                        max_length=7,
                    ),
                ),
                (
                    "pgh_obj",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="events",
                        to="oversight.agreementline",
                    ),
                ),
                (
                    "agreement",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        related_query_name="+",
                        to="oversight.qualityagreement",
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.AddField(
            model_name="agreementline",
            name="agreement",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="lines", to="oversight.qualityagreement"
            ),
        ),
        migrations.CreateModel(
            name="QualityAgreementEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("version", models.PositiveSmallIntegerField()),
                (
                    "partner_kind",
                    models.CharField(choices=[("CMO", "CMO"), ("CDMO", "CDMO"), ("CRO", "CRO")], max_length=4),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("sponsor_signed", "Signed by QA, awaiting the vendor"),
                            ("effective", "Effective"),
                            ("superseded", "Superseded"),
                        ],
                        default="draft",
                        max_length=15,
                    ),
                ),
                (
                    "change_notice_days",
                    models.PositiveSmallIntegerField(
                        default=90,
                        help_text="How many days before a change takes effect the vendor must notify the sponsor.",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(730),
                        ],
                        verbose_name="change-control notice period (days)",
                    ),
                ),
                ("review_due", models.DateField(verbose_name="review due")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("sponsor_signed_at", models.DateTimeField(blank=True, null=True)),
                ("effective_on", models.DateField(blank=True, null=True)),
                (
                    "activity",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        related_query_name="+",
                        to="vendors.service",
                    ),
                ),
                (
                    "created_by",
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
                        to="oversight.qualityagreement",
                    ),
                ),
                (
                    "previous",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        related_query_name="+",
                        to="oversight.qualityagreement",
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
            name="RiskAssessment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("score", models.PositiveSmallIntegerField(validators=[django.core.validators.MaxValueValidator(100)])),
                ("band", models.CharField(max_length=60)),
                ("interval_months", models.PositiveSmallIntegerField()),
                ("basis_date", models.DateField(help_text="The last qualification the interval counts from.")),
                ("due", models.DateField(verbose_name="requalification due")),
                ("previous_due", models.DateField(blank=True, null=True)),
                ("factors", models.JSONField(default=dict)),
                ("reasons", models.JSONField(default=list)),
                ("trigger", models.CharField(max_length=200)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "assessed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "site",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="risk_assessments", to="vendors.site"
                    ),
                ),
            ],
            options={
                "ordering": ["site", "-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="RiskMatrix",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.PositiveSmallIntegerField(unique=True)),
                ("bands", models.JSONField()),
                ("note", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "risk matrices",
                "ordering": ["-version"],
            },
        ),
        migrations.CreateModel(
            name="RiskAssessmentEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("score", models.PositiveSmallIntegerField(validators=[django.core.validators.MaxValueValidator(100)])),
                ("band", models.CharField(max_length=60)),
                ("interval_months", models.PositiveSmallIntegerField()),
                ("basis_date", models.DateField(help_text="The last qualification the interval counts from.")),
                ("due", models.DateField(verbose_name="requalification due")),
                ("previous_due", models.DateField(blank=True, null=True)),
                ("factors", models.JSONField(default=dict)),
                ("reasons", models.JSONField(default=list)),
                ("trigger", models.CharField(max_length=200)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "assessed_by",
                    models.ForeignKey(
                        blank=True,
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
                        to="oversight.riskassessment",
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
                (
                    "matrix",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        related_query_name="+",
                        to="oversight.riskmatrix",
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.AddField(
            model_name="riskassessment",
            name="matrix",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="oversight.riskmatrix"
            ),
        ),
        migrations.CreateModel(
            name="RiskMatrixEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                ("version", models.PositiveSmallIntegerField()),
                ("bands", models.JSONField()),
                ("note", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
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
                        to="oversight.riskmatrix",
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="VendorSignature",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "via",
                    models.CharField(
                        choices=[("portal", "Supplier portal"), ("upload", "Signed copy uploaded by the sponsor")],
                        max_length=6,
                    ),
                ),
                ("signer_name", models.CharField(max_length=200)),
                ("signer_title", models.CharField(max_length=200)),
                ("signed_at", models.DateTimeField()),
                ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                (
                    "portal_identity",
                    models.CharField(blank=True, help_text="The invitation the portal session holds.", max_length=300),
                ),
                ("document", models.FileField(blank=True, upload_to="quality-agreements/%Y/%m/")),
                ("document_name", models.CharField(blank=True, max_length=255)),
                ("document_sha256", models.CharField(blank=True, max_length=64)),
                ("agreement_hash", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "agreement",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="vendor_signature",
                        to="oversight.qualityagreement",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="VendorSignatureEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("id", models.BigIntegerField()),
                (
                    "via",
                    models.CharField(
                        choices=[("portal", "Supplier portal"), ("upload", "Signed copy uploaded by the sponsor")],
                        max_length=6,
                    ),
                ),
                ("signer_name", models.CharField(max_length=200)),
                ("signer_title", models.CharField(max_length=200)),
                ("signed_at", models.DateTimeField()),
                ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                (
                    "portal_identity",
                    models.CharField(blank=True, help_text="The invitation the portal session holds.", max_length=300),
                ),
                ("document", models.FileField(blank=True, upload_to="quality-agreements/%Y/%m/")),
                ("document_name", models.CharField(blank=True, max_length=255)),
                ("document_sha256", models.CharField(blank=True, max_length=64)),
                ("agreement_hash", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "agreement",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        related_query_name="+",
                        to="oversight.qualityagreement",
                    ),
                ),
                (
                    "pgh_obj",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="events",
                        to="oversight.vendorsignature",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        blank=True,
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
        migrations.AddConstraint(
            model_name="qualityagreement",
            constraint=models.UniqueConstraint(
                fields=("site", "activity", "version"), name="quality_agreement_version_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="qualityagreement",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["draft", "sponsor_signed"])),
                fields=("site", "activity"),
                name="quality_agreement_one_open",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="qualityagreement",
            trigger=pgtrigger.compiler.Trigger(
                name="quality_agreement_signed_no_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.status IN ('sponsor_signed', 'effective', 'superseded'))",
                    func="RAISE EXCEPTION 'pgtrigger: Cannot delete rows from % table', TG_TABLE_NAME;",
                    hash="11de5cc094d40aa997031836464fcb32573b4032",
                    operation="DELETE",
                    pgid="pgtrigger_quality_agreement_signed_no_delete_96c55",
                    table="oversight_qualityagreement",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="qualityagreement",
            trigger=pgtrigger.compiler.Trigger(
                name="quality_agreement_signed_frozen",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.status IN ('sponsor_signed', 'effective', 'superseded') AND (to_jsonb(OLD) - 'status' - 'effective_on') IS DISTINCT FROM (to_jsonb(NEW) - 'status' - 'effective_on'))",
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', TG_TABLE_NAME;",
                    hash="b97f153072c654c5a58f721a333bbe0f60e613ff",
                    operation="UPDATE",
                    pgid="pgtrigger_quality_agreement_signed_frozen_24526",
                    table="oversight_qualityagreement",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="qualityagreement",
            trigger=pgtrigger.compiler.Trigger(
                name="quality_agreement_signed_sponsor_signed_moves",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.status = 'sponsor_signed' AND NEW.status NOT IN ('sponsor_signed', 'effective', 'superseded'))",
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', TG_TABLE_NAME;",
                    hash="c34a3034dd5873bf507d433fceacb97ee25743ee",
                    operation="UPDATE",
                    pgid="pgtrigger_quality_agreement_signed_sponsor_signed_moves_b0aca",
                    table="oversight_qualityagreement",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="qualityagreement",
            trigger=pgtrigger.compiler.Trigger(
                name="quality_agreement_signed_effective_moves",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.status = 'effective' AND NEW.status NOT IN ('effective', 'superseded'))",
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', TG_TABLE_NAME;",
                    hash="5e2c5d94f476db1d422106c347640281addfb0a4",
                    operation="UPDATE",
                    pgid="pgtrigger_quality_agreement_signed_effective_moves_ecbb5",
                    table="oversight_qualityagreement",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="qualityagreement",
            trigger=pgtrigger.compiler.Trigger(
                name="quality_agreement_signed_superseded_moves",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.status = 'superseded' AND NEW.status NOT IN ('superseded'))",
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', TG_TABLE_NAME;",
                    hash="360feaecc836dcc0ae83fc33caa19772bfded2b1",
                    operation="UPDATE",
                    pgid="pgtrigger_quality_agreement_signed_superseded_moves_f9c89",
                    table="oversight_qualityagreement",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="qualityagreement",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "oversight_qualityagreementevent" ("activity_id", "change_notice_days", "created_at", "created_by_id", "effective_on", "id", "partner_kind", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "previous_id", "review_due", "site_id", "sponsor_signed_at", "status", "version") VALUES (NEW."activity_id", NEW."change_notice_days", NEW."created_at", NEW."created_by_id", NEW."effective_on", NEW."id", NEW."partner_kind", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'insert\', NEW."id", NEW."previous_id", NEW."review_due", NEW."site_id", NEW."sponsor_signed_at", NEW."status", NEW."version"); RETURN NULL;',
                    hash="fe379c8debb4144d5d71d05b9c1195b2f7a6fa10",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_d731d",
                    table="oversight_qualityagreement",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="qualityagreement",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "oversight_qualityagreementevent" ("activity_id", "change_notice_days", "created_at", "created_by_id", "effective_on", "id", "partner_kind", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "previous_id", "review_due", "site_id", "sponsor_signed_at", "status", "version") VALUES (NEW."activity_id", NEW."change_notice_days", NEW."created_at", NEW."created_by_id", NEW."effective_on", NEW."id", NEW."partner_kind", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'update\', NEW."id", NEW."previous_id", NEW."review_due", NEW."site_id", NEW."sponsor_signed_at", NEW."status", NEW."version"); RETURN NULL;',
                    hash="d47dd8e3d0c28160f76cc9475a6a86ea55070d21",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_025b8",
                    table="oversight_qualityagreement",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="qualityagreement",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "oversight_qualityagreementevent" ("activity_id", "change_notice_days", "created_at", "created_by_id", "effective_on", "id", "partner_kind", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "previous_id", "review_due", "site_id", "sponsor_signed_at", "status", "version") VALUES (OLD."activity_id", OLD."change_notice_days", OLD."created_at", OLD."created_by_id", OLD."effective_on", OLD."id", OLD."partner_kind", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'delete\', OLD."id", OLD."previous_id", OLD."review_due", OLD."site_id", OLD."sponsor_signed_at", OLD."status", OLD."version"); RETURN NULL;',
                    hash="678f0a9acd1d98f8856a8bf92ee45b1de3fb1575",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_f164d",
                    table="oversight_qualityagreement",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="agreementlineevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="2f522058b9ce9bd1a9f70aae0237c714c4f5d189",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_5fa14",
                    table="oversight_agreementlineevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="agreementline",
            trigger=pgtrigger.compiler.Trigger(
                name="agreement_line_signed",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="\n            IF (TG_OP <> 'INSERT' AND EXISTS (SELECT 1 FROM oversight_qualityagreement WHERE id = OLD.agreement_id AND status IN ('sponsor_signed', 'effective', 'superseded'))) OR (TG_OP <> 'DELETE' AND EXISTS (SELECT 1 FROM oversight_qualityagreement WHERE id = NEW.agreement_id AND status IN ('sponsor_signed', 'effective', 'superseded'))) THEN\n                RAISE EXCEPTION 'vendorselect: the signed quality agreement''s responsibility line is a locked record; % refused on %', TG_OP, TG_TABLE_NAME\n                    USING ERRCODE = 'integrity_constraint_violation';\n            END IF;\n            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n            RETURN NEW;\n        ",
                    hash="36c3a8fa12410e2f10acbf0dbad553b3f6701805",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_agreement_line_signed_585bd",
                    table="oversight_agreementline",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="agreementline",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "oversight_agreementlineevent" ("agreement_id", "id", "owner", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "position", "section", "text") VALUES (NEW."agreement_id", NEW."id", NEW."owner", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'insert\', NEW."id", NEW."position", NEW."section", NEW."text"); RETURN NULL;',
                    hash="effde6b6706b65f9e8a1e0546ffeaf528bc622ed",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_ee573",
                    table="oversight_agreementline",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="agreementline",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "oversight_agreementlineevent" ("agreement_id", "id", "owner", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "position", "section", "text") VALUES (NEW."agreement_id", NEW."id", NEW."owner", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'update\', NEW."id", NEW."position", NEW."section", NEW."text"); RETURN NULL;',
                    hash="3ab08fe9d70c33db8a9f29464765c38ece87d3bd",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_8de6d",
                    table="oversight_agreementline",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="agreementline",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "oversight_agreementlineevent" ("agreement_id", "id", "owner", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "position", "section", "text") VALUES (OLD."agreement_id", OLD."id", OLD."owner", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'delete\', OLD."id", OLD."position", OLD."section", OLD."text"); RETURN NULL;',
                    hash="4d7da72c82e8c51167a1dfc7f747801735936756",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_44e83",
                    table="oversight_agreementline",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="qualityagreementevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="936bcce8dc102432fa42e283c01526b7a2087ebf",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_9f021",
                    table="oversight_qualityagreementevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="riskmatrix",
            trigger=pgtrigger.compiler.Trigger(
                name="risk_matrix_immutable",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="d9d6e3420f58847cfacd1120f1bb52750c9ff553",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_risk_matrix_immutable_a81b5",
                    table="oversight_riskmatrix",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="riskmatrix",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "oversight_riskmatrixevent" ("bands", "created_at", "created_by_id", "id", "note", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "version") VALUES (NEW."bands", NEW."created_at", NEW."created_by_id", NEW."id", NEW."note", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'insert\', NEW."id", NEW."version"); RETURN NULL;',
                    hash="0f20318feca40477b1c42640611cca840a6148c2",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_ba931",
                    table="oversight_riskmatrix",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="riskassessmentevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="868eb1f80e69e088876f0a99e5cf98cbb3fcf4bb",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_7757d",
                    table="oversight_riskassessmentevent",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AddIndex(
            model_name="riskassessment",
            index=models.Index(fields=["site", "-created_at"], name="risk_assessment_site_latest"),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="riskassessment",
            trigger=pgtrigger.compiler.Trigger(
                name="risk_assessment_immutable",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="2f10a0e438b55a6cdd8abd5667416a0e3393947e",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_risk_assessment_immutable_17243",
                    table="oversight_riskassessment",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="riskassessment",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "oversight_riskassessmentevent" ("assessed_by_id", "band", "basis_date", "created_at", "due", "factors", "id", "interval_months", "matrix_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "previous_due", "reasons", "score", "site_id", "trigger") VALUES (NEW."assessed_by_id", NEW."band", NEW."basis_date", NEW."created_at", NEW."due", NEW."factors", NEW."id", NEW."interval_months", NEW."matrix_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'insert\', NEW."id", NEW."previous_due", NEW."reasons", NEW."score", NEW."site_id", NEW."trigger"); RETURN NULL;',
                    hash="e8fecd5d4cf8f3f933a679f27c7eecd09677540a",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_07a23",
                    table="oversight_riskassessment",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="riskmatrixevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="961e51f658e3855d58bfb61b9b2f6bba02fa1c7b",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_6e826",
                    table="oversight_riskmatrixevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="vendorsignature",
            trigger=pgtrigger.compiler.Trigger(
                name="vendor_signature_immutable",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="ffd9f93c4002ea52810c60206b853a9c4b88f428",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_vendor_signature_immutable_221a5",
                    table="oversight_vendorsignature",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="vendorsignature",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "oversight_vendorsignatureevent" ("agreement_hash", "agreement_id", "created_at", "document", "document_name", "document_sha256", "id", "ip_address", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "portal_identity", "recorded_by_id", "signed_at", "signer_name", "signer_title", "via") VALUES (NEW."agreement_hash", NEW."agreement_id", NEW."created_at", NEW."document", NEW."document_name", NEW."document_sha256", NEW."id", NEW."ip_address", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'insert\', NEW."id", NEW."portal_identity", NEW."recorded_by_id", NEW."signed_at", NEW."signer_name", NEW."signer_title", NEW."via"); RETURN NULL;',
                    hash="987abd8a32dfac110d80edaf68c8858d5e832214",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_cbc1b",
                    table="oversight_vendorsignature",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="vendorsignatureevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="dee7c41d882da95e0b0d8ce1600567be4fb28136",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_cb646",
                    table="oversight_vendorsignatureevent",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.RunPython(first_matrix, migrations.RunPython.noop),
        *(migrations.RunSQL(_create_indexes(table), reverse_sql=_drop_indexes(table)) for table in EVENT_TABLES),
    ]
