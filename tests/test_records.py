"""Records a regulator can trust, shown in general: every tracked table, every signed record.

The models are discovered from the registry, so a new tracked model is covered by itself (and the
world builder below must then create a row of it, or its test fails and says so).
"""

from __future__ import annotations

from datetime import date, timedelta

import pgtrigger
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts import roles, signatures
from audits import selectors as audit_selectors
from audits import services as audit_services
from audits.models import Audit, AuditAmendment, Capa, Finding, FindingAttachment
from core import records
from rfp import bidding, comparison
from rfp import services as rfp_services
from rfp.models import Award, AwardDecision, AwardLine, AwardNotice, Delivery, Packet, ProposalOpening, RfpTemplate
from scoring.models import DerivedOverride, ProgramStep, ProposedSite, Shortlist, ShortlistDecision, ShortlistEntry
from tests.factories import (
    PASSWORD,
    GmpCertificateFactory,
    ImportAlertFactory,
    SiteFactory,
    SiteQualificationFactory,
    UserFactory,
    WarningLetterFactory,
)
from tests.rfp.conftest import rfp_values
from tests.scoring.test_shortlists import decide, submitted
from vendors.models import Contact, DosageForm, Kind, Modality, Phase, Service
from vendorselect import builders

pytestmark = pytest.mark.django_db
TODAY = date.today()
APP_ROLE = settings.DATABASE_APP_ROLE


def tracked_models() -> list:
    import pghistory.models
    from django.apps import apps

    found = {
        m.pgh_tracked_model
        for m in apps.get_models()
        if issubclass(m, pghistory.models.Event) and not m._meta.abstract and not m._meta.proxy
    }
    return sorted(found, key=lambda m: m._meta.label)


def _request(rf):
    request = rf.post("/")
    request.session = {}
    return request


@pytest.fixture
def world(api_as, reviewed, users, rf):
    """At least one row of every tracked model: an approved shortlist with an RFP, packets, a delivery,
    a proposal with a document, a question; a signed audit with findings, CAPA, evidence, amendment;
    a vendor contact; role links; a refused attempt."""
    shortlist = submitted(api_as, reviewed)
    assert decide(api_as("manager"), shortlist).status_code == 200
    assert decide(api_as("manager"), shortlist).status_code == 409  # a refused second signature
    lead = users["procurement"]
    rfp = rfp_services.rfp_create(shortlist=Shortlist.objects.get(pk=shortlist.pk), user=lead, **rfp_values())
    rfp_services.attachment_add(rfp=rfp, user=lead, upload=SimpleUploadedFile("cda.pdf", b"%PDF-1.4 cda"))
    candidate = shortlist.entries.first().candidate
    packet = Packet.objects.create(
        rfp=rfp,
        candidate=candidate,
        version=1,
        template=RfpTemplate.objects.first(),
        inputs_hash="0" * 64,
        status=Packet.Status.DONE,
    )
    Delivery.objects.create(packet=packet, sent_on=TODAY, recipient="bids@example.com", recorded_by=lead)
    proposal = rfp_services.proposal_record(rfp=rfp, user=lead, candidate_id=candidate.pk, received_on=TODAY)
    rfp_services.proposal_document_add(
        proposal=proposal, user=lead, upload=SimpleUploadedFile("offer.pdf", b"%PDF-1.4 offer")
    )
    rfp_services.question_record(rfp=rfp, user=lead, candidate_id=candidate.pk, question="Batch size?", asked_on=TODAY)
    invitation = builders.invited(rfp, lead, candidate)
    bidding.packet_download(invitation=invitation, packet_id=packet.pk, part="pdf")
    builders.sealed_proposal(invitation, content=b"%PDF-1.4 sealed")
    builders.sealed_questionnaire(invitation)
    ProposalOpening.objects.create(rfp=rfp, opened_by=lead, opened_at=timezone.now(), manifest={"received": []})
    # An award with its line, a signed decision and a notice (rows made directly: the proposals are sealed here).
    award = Award.objects.create(rfp=rfp, version=1, proposed_by=lead, rationale="Best value.")
    AwardLine.objects.create(award=award, candidate=candidate, scope="Fill-finish")
    manager = users["manager"]
    signature = signatures.create(user=manager, record=award, snapshot={"award": award.pk}, meaning="approved")
    AwardDecision.objects.create(award=award, signature=signature, decided_by=manager, decision="approve")
    AwardNotice.objects.create(award=award, candidate=candidate, kind=AwardNotice.Kind.AWARD)
    # The lead's program horizon and an exchange rate (rfp.comparison).
    comparison.horizon_set(rfp=rfp, user=lead, years=5, base_currency="EUR")
    comparison.rate_add(rfp=rfp, user=lead, currency="USD", rate="0.9", as_of=TODAY)

    auditor = users["auditor"]
    audit = audit_services.audit_create(
        user=auditor,
        site=SiteFactory(),
        type="routine",
        planned_start=TODAY - timedelta(days=5),
        planned_end=TODAY - timedelta(days=4),
        co_auditors=[UserFactory(username="co-auditor")],
    )
    audit = audit_services.audit_transition(audit=audit, user=auditor, action="start")
    finding = audit_services.finding_add(
        audit=audit,
        user=auditor,
        severity="major",
        area="documentation",
        description="Logbook gaps",
        capa_required=True,
        capa_due_date=TODAY + timedelta(days=30),
    )
    audit_services.attachment_add(finding=finding, user=auditor, upload=SimpleUploadedFile("photo.txt", b"seen"))
    audit = audit_services.audit_transition(audit=audit, user=auditor, action="draft_report")
    audit_services.report_request(audit=audit, user=auditor)
    audit_services.report_update(audit=audit, user=auditor, recommended_outcome="approved", confirm_open_capas=True)
    audit_services.audit_sign(
        request=_request(rf), audit=audit, user=auditor, password=PASSWORD, confirm_open_capas=True
    )
    audit = Audit.objects.get(pk=audit.pk)
    audit_services.amendment_add(audit=audit, user=auditor, reason="Typo", text="Logbook, not log book.")
    audit_services.outcome_sign(
        request=_request(rf),
        audit=audit,
        user=UserFactory(username="qa-signer", roles=[roles.QA]),
        outcome="approved",
        password=PASSWORD,
        activities=[Service.objects.first()],
    )
    Contact.objects.create(vendor=audit.site.vendor, name="Dana Quality")
    site, vendor, evaluation = audit.site, audit.site.vendor, reviewed[0]
    site.capabilities.add(Service.objects.first())
    vendor.services.add(Service.objects.first())
    vendor.modalities.add(Modality.objects.first())
    vendor.dosage_forms.add(DosageForm.objects.first())
    vendor.phases.add(Phase.objects.first())
    evaluation.allowed_kinds.add(Kind.objects.first())
    evaluation.required_services.add(Service.objects.first())
    step = ProgramStep.objects.create(evaluation=evaluation, step="drug_substance", quality_regime="cGMP")
    step.services.add(Service.objects.first())
    ProposedSite.objects.create(candidate=candidate, step=step, site=candidate.vendor.sites.first())
    WarningLetterFactory(site=site)
    ImportAlertFactory(site=site)
    GmpCertificateFactory(site=site)
    SiteQualificationFactory(site=candidate.vendor.sites.first())
    # The approved site's quality agreement, signed by QA and by the vendor (oversight; its risk assessment
    # came with the signed outcome above).
    builders.signed_agreement(
        site=site,
        activity=Service.objects.get(code="fill-finish"),
        qa=UserFactory(username="qa-agreements", roles=[roles.QA]),
        password=PASSWORD,
    )
    # A quarter of the site's supplier performance and its scorecard (oversight).
    builders.performance_quarters(site=site, user=users["qa"], quarters=[{"batches_started": 4, "batches_released": 4}])
    DerivedOverride.objects.create(
        candidate=candidate, criterion=evaluation.criteria.first(), value=3, justification="Site visit", by=lead
    )
    users["admin"].user_permissions.add(Permission.objects.get(codename="view_audit_trail"))
    return {"shortlist": Shortlist.objects.get(pk=shortlist.pk), "audit": audit, "finding": finding}


def _as_app_role(cursor) -> None:
    cursor.execute(f"SET LOCAL ROLE {connection.ops.quote_name(APP_ROLE)}")


def _ignore_every_trigger(cursor, table: str) -> None:
    """What an insider would try: tell pgtrigger to skip every trigger of the table."""
    cursor.execute(
        "SELECT array_agg(tgname::text) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", [table]
    )
    names = cursor.fetchone()[0] or []
    cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", ["{" + ",".join(names) + "}"])


def _change_sql(model) -> tuple[str, str]:
    """An UPDATE that really changes one column of the row (text, then flag, then time or number)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key and not f.is_relation]
    unique = {f.column for f in fields if f.unique}
    for kinds, expression in (
        (("CharField", "TextField", "EmailField", "SlugField", "URLField", "FileField"), "{c} || 'x'"),
        (("BooleanField",), "NOT {c}"),
        (("DateTimeField",), "{c} + interval '1 second'"),
        (("DateField",), "{c} - 1"),
        (("JSONField",), "'{{\"changed\": true}}'::jsonb"),
        (("DecimalField", "FloatField"), "{c} / 2"),
        (("PositiveSmallIntegerField", "PositiveIntegerField", "IntegerField"), "{c} + 1"),
    ):
        for f in fields:
            if f.get_internal_type() in kinds and f.column not in unique and not getattr(f, "choices", None):
                return f.column, expression.format(c=connection.ops.quote_name(f.column))
    # Link rows and entries: point the row at another parent.
    relation = next(f for f in model._meta.concrete_fields if f.is_relation)
    column = connection.ops.quote_name(relation.column)
    return relation.column, f"(SELECT min({column}) FROM {model._meta.db_table}) + 0"


def _events(model, pk) -> int:
    import pghistory.models
    from django.apps import apps

    total = 0
    for event_model in apps.get_models():
        if (
            issubclass(event_model, pghistory.models.Event)
            and not event_model._meta.abstract
            and getattr(event_model, "pgh_tracked_model", None) is model
        ):
            total += event_model.objects.filter(pgh_obj_id=pk).count()
    return total


def _attempt(model, pk, sql: str, *, ignore: bool) -> str:
    """Run the statement as the application's role, then undo it: "refused", "recorded" or "silent"."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            before = _events(model, pk)
            _as_app_role(cursor)
            if ignore:
                _ignore_every_trigger(cursor, model._meta.db_table)
            cursor.execute(sql, [pk])
            assert cursor.rowcount == 1, f"{sql} touched {cursor.rowcount} rows"
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # a deferred foreign key refuses now, not at commit
            cursor.execute("RESET ROLE")
            outcome = "recorded" if _events(model, pk) > before else "silent"
            transaction.set_rollback(True)
    except DatabaseError:
        return "refused"
    return outcome


def test_every_tracked_table_refuses_or_records_update_and_delete(world):
    """Raw SQL as the application's role, with and without `pgtrigger.ignore` naming every trigger of the
    table: each UPDATE and DELETE is refused, or leaves an event in the trail."""
    unrecorded, missing = [], []
    for model in tracked_models():
        row = model.objects.order_by("pk").values_list("pk", flat=True).first()
        if row is None:
            missing.append(model._meta.label)
            continue
        table = connection.ops.quote_name(model._meta.db_table)
        pk_column = connection.ops.quote_name(model._meta.pk.column)
        column, expression = _change_sql(model)
        for ignore in (False, True):
            for sql in (
                f"UPDATE {table} SET {connection.ops.quote_name(column)} = {expression} WHERE {pk_column} = %s",
                f"DELETE FROM {table} WHERE {pk_column} = %s",
            ):
                if _attempt(model, row, sql, ignore=ignore) == "silent":
                    unrecorded.append(f"{model._meta.label}: {sql} (ignore={ignore})")
    assert not unrecorded, "changed without a trail event:\n" + "\n".join(unrecorded)
    assert not missing, f"the world builder makes none of {missing}: add them so that they are covered"


def test_append_only_tables_refuse_change_by_privilege_and_by_trigger(world):
    """Two independent locks: the app role has no UPDATE/DELETE privilege, and the triggers refuse anyone
    who has not switched them off (only the schema owner can)."""
    from psycopg import errors

    models = records.immutable_models()
    labels = {m._meta.label for m in models}
    for expected in (
        "accounts.Signature",
        "accounts.RefusedAttempt",
        "audits.AuditAmendment",
        "audits.FindingAttachment",
        "scoring.ShortlistDecision",
        "rfp.RfpAttachment",
        "rfp.Delivery",
        "rfp.ProposalDocument",
        "scoring.ShortlistEvent",
    ):
        assert expected in labels
    for model in models:
        row = model.objects.order_by("pk").values_list("pk", flat=True).first()
        if row is None:
            continue  # an event table of a model the world does not change
        table = connection.ops.quote_name(model._meta.db_table)
        pk_column = connection.ops.quote_name(model._meta.pk.column)
        for sql in (
            f"UPDATE {table} SET {pk_column} = {pk_column} WHERE {pk_column} = %s",
            f"DELETE FROM {table} WHERE {pk_column} = %s",
        ):
            with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as cursor:
                _as_app_role(cursor)
                cursor.execute(sql, [row])
            assert isinstance(refused.value.__cause__, errors.InsufficientPrivilege), (model, refused.value)
            with (
                pytest.raises(DatabaseError, match="Cannot update or delete"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql, [row])  # as the owner, triggers on
        assert model.objects.filter(pk=row).exists()


def test_the_app_role_owns_nothing_and_cannot_switch_the_protection_off(world):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s", [APP_ROLE])
        assert cursor.fetchone() == (False, False, False)
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tableowner = %s", [APP_ROLE])
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND has_table_privilege(%s, "
            "format('%%I.%%I', schemaname, tablename), 'TRUNCATE')",
            [APP_ROLE],
        )
        assert cursor.fetchone()[0] == 0
    for attempt in (
        "ALTER TABLE accounts_signature DISABLE TRIGGER ALL",
        "DROP TRIGGER pgtrigger_signature_immutable_2c4b1 ON accounts_signature",
        'CREATE OR REPLACE FUNCTION "public"._pgtrigger_should_ignore(trigger_name NAME) RETURNS BOOLEAN AS '
        "$$ BEGIN RETURN TRUE; END; $$ LANGUAGE plpgsql",
        "TRUNCATE scoring_shortlistdecision CASCADE",
        "SET session_replication_role = replica",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            _as_app_role(cursor)
            cursor.execute(attempt)


def test_an_ignored_trail_trigger_still_records_for_the_app_role(world):
    """`pgtrigger.ignore` from Python, as the app role: the vendor's change is still in the trail."""
    vendor = world["audit"].site.vendor
    before = _events(type(vendor), vendor.pk)
    with transaction.atomic():
        with connection.cursor() as cursor:
            _as_app_role(cursor)
        with pgtrigger.ignore("vendors.Vendor:update_update"):
            type(vendor).objects.filter(pk=vendor.pk).update(description="changed quietly?")
    assert _events(type(vendor), vendor.pk) == before + 1


def test_the_application_works_as_its_own_role(api_as, reviewed, users, rf):
    """The grants are enough for the regulated work: propose, submit, sign a shortlist; sign an audit."""
    with connection.cursor() as cursor:
        _as_app_role(cursor)  # for the rest of this test's transaction
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == APP_ROLE
    shortlist = submitted(api_as, reviewed)
    assert decide(api_as("manager"), shortlist).status_code == 200
    audit = audit_services.audit_create(
        user=users["auditor"], site=SiteFactory(), type="routine", planned_start=TODAY, planned_end=TODAY
    )
    audit = audit_services.audit_transition(audit=audit, user=users["auditor"], action="start")
    audit = audit_services.audit_transition(audit=audit, user=users["auditor"], action="draft_report")
    audit_services.report_update(audit=audit, user=users["auditor"], recommended_outcome="approved")
    audit_services.audit_sign(request=_request(rf), audit=audit, user=users["auditor"], password=PASSWORD)
    assert Audit.objects.get(pk=audit.pk).status == "signed"


# --- Signed audits: refused through every path, and a change of outcome is an amendment -----------


def test_a_signed_audit_refuses_change_through_every_path(world, users):
    from accounts.models import User

    audit, finding = world["audit"], world["finding"]
    attempts = [
        lambda: Audit.objects.filter(pk=audit.pk).update(planned_start=TODAY - timedelta(days=9)),
        lambda: Audit.objects.filter(pk=audit.pk).update(outcome="approved"),
        lambda: Audit.objects.filter(pk=audit.pk).update(status="report_drafted"),
        lambda: Audit.objects.filter(pk=audit.pk).delete(),
        lambda: audit.co_auditors.add(User.objects.get(username="manager")),
        lambda: audit.co_auditors.clear(),
        lambda: Finding.objects.filter(pk=finding.pk).update(severity="minor"),
        lambda: Finding.objects.filter(pk=finding.pk).delete(),
        lambda: Finding.objects.bulk_create(
            [Finding(audit=audit, number=9, severity="minor", area="training", description="added later")]
        ),
        lambda: AuditAmendment.objects.filter(audit=audit).update(text="rewritten"),
        lambda: AuditAmendment.objects.filter(audit=audit).delete(),
        lambda: FindingAttachment.objects.filter(finding=finding).update(original_name="other.txt"),
        lambda: Capa.objects.filter(finding=finding).delete(),
    ]
    for attempt in attempts:
        with pytest.raises(DatabaseError), transaction.atomic():
            with connection.cursor() as cursor:
                _as_app_role(cursor)
            attempt()
    assert audit_selectors.signature_manifest(Audit.objects.get(pk=audit.pk))[0]["valid"] is True
    # CAPA follow-up still goes on after signing.
    audit_services.capa_update(capa=Capa.objects.get(finding=finding), user=users["auditor"], status="in_progress")


def test_the_outcome_after_signing_is_qa_s_signed_decision_not_an_amendment(api_as, world, users):
    audit = world["audit"]
    refused = api_as("auditor").post(f"/api/v1/audits/{audit.pk}/outcome/", {"outcome": "approved"}, format="json")
    assert refused.status_code == 403
    bad = api_as("auditor").post(
        f"/api/v1/audits/{audit.pk}/amendments/",
        {"reason": "Re-assessed", "text": "x", "outcome": "approved_with_conditions"},
        format="json",
    )
    assert bad.status_code == 400 and "outcome" in bad.json()
    qa = api_as(None)
    qa.force_authenticate(UserFactory(username="qa2", roles=[roles.QA]))
    response = qa.post(
        f"/api/v1/audits/{audit.pk}/outcome/",
        {"outcome": "approved_with_conditions", "reason": "CAPA plan accepted by QA.", "password": PASSWORD},
        format="json",
    )
    assert response.status_code in (200, 201), response.content
    site = audit.site
    site.refresh_from_db()
    assert site.qualification == "approved_with_conditions"
    detail = api_as("auditor").get(f"/api/v1/audits/{audit.pk}/").json()
    assert detail["signatures"][0]["valid"] is True  # the signed report itself is unchanged


def test_a_changed_decision_or_comment_turns_the_approval_invalid(world):
    """The approver signs the snapshot and their own decision with its comment."""
    from scoring import shortlists

    shortlist = world["shortlist"]
    assert shortlists.manifest(shortlist)[0]["valid"] is True
    for change in ({"comment": "Approved subject to a site visit."}, {"decision": "reject"}):
        with pgtrigger.ignore("scoring.ShortlistDecision:shortlist_decision_immutable"), transaction.atomic():
            ShortlistDecision.objects.filter(shortlist=shortlist).update(**change)
            assert shortlists.manifest(Shortlist.objects.get(pk=shortlist.pk))[0]["valid"] is False, change
            transaction.set_rollback(True)
    assert shortlists.manifest(shortlist)[0]["valid"] is True


def test_entries_and_decisions_of_a_decided_shortlist_are_fixed(world, reviewed):
    shortlist = world["shortlist"]
    _, candidates = reviewed
    other = next(c for c in candidates if not shortlist.entries.filter(candidate=c).exists())
    for attempt in (
        lambda: ShortlistEntry.objects.create(shortlist=shortlist, candidate=other),
        lambda: shortlist.entries.all().delete(),
        lambda: ShortlistDecision.objects.filter(shortlist=shortlist).update(comment="edited", decision="reject"),
        lambda: ShortlistDecision.objects.filter(shortlist=shortlist).delete(),
        lambda: Shortlist.objects.filter(pk=shortlist.pk).update(rationale="rewritten"),
        lambda: Shortlist.objects.filter(pk=shortlist.pk).update(status="submitted"),
        lambda: Shortlist.objects.filter(pk=shortlist.pk).update(required_approvals=1, snapshot_hash="0" * 64),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            with connection.cursor() as cursor:
                _as_app_role(cursor)
            attempt()
    assert ShortlistDecision.objects.get(shortlist=shortlist).decision == "approve"


def test_hardened_ignore_function_is_in_place_after_migrate():
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = '_pgtrigger_should_ignore'")
        sources = [row[0] for row in cursor.fetchall()]
    assert sources and all("pg_has_role" in source for source in sources)
    assert timezone.now()
