"""Audit journeys in headless Chromium (Debian's package), driven by Playwright: record a finding without a
reload (a past CAPA due date is confirmed first), write the report and its recommended outcome (required before
signing), sign it by re-entering the password, verify a CAPA with evidence, find the audit on the calendar.
Every journey ends with no console error and no CSP violation (tests/browsing.py)."""

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.browsing import assert_no_console_errors, axe_violations, login, new_page, shot
from vendorselect.management.commands.seed_demo import demo_password

# As in tests/test_browser.py: Playwright's greenlets see other connection objects, so serialized
# rollback cannot restore the migrated reference data here; seed_demo re-creates it instead.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_auditor_records_a_finding_and_signs_the_report(page, demo):
    from accounts.models import Signature
    from audits.models import Audit

    login(page, "auditor")
    page.get_by_role("heading", name="Auditor home").wait_for()
    page.goto("/audits/")
    page.get_by_role("heading", name="Facility audits").wait_for()
    page.get_by_role("row").filter(has_text="Quillon Peptide Works").get_by_role("link").first.click()
    page.get_by_role("heading", name=re.compile("Quillon Peptide Works")).wait_for()
    audit = Audit.objects.get(site__vendor__name="Quillon Peptide Works")
    assert audit.status == "report_drafted" and not audit.findings.exists()
    assert page.get_by_text("No findings recorded.").is_visible()
    # Nothing is preselected: the auditor classifies every finding.
    assert (
        page.get_by_label("Severity").input_value() == ""
        and page.get_by_label("Quality-system area").input_value() == ""
    )

    # htmx finding entry: the findings block is swapped in place, the page is not reloaded. A CAPA due date in
    # the past is not taken silently: the confirmation box appears with the reason, and what was typed stays.
    page.evaluate("window.noReloadMarker = 'still here'")
    page.get_by_label("Severity").select_option("major")
    page.get_by_label("Quality-system area").select_option("data_integrity")
    page.get_by_label("Regulation").fill("21 CFR 211.68")
    page.get_by_label("Description").fill("Audit trail review of the HPLC data system is not documented.")
    page.get_by_label("CAPA due").fill((date.today() - timedelta(days=2)).isoformat())
    page.get_by_label("CAPA owner at the vendor").fill("QA manager")
    with page.expect_response(lambda r: r.request.method == "POST" and r.request.headers.get("hx-request")) as sent:
        page.get_by_role("button", name="Add finding").click()
    assert sent.value.status == 200
    confirm = page.get_by_label(re.compile("The due date is in the past on purpose"))
    confirm.wait_for()
    assert page.get_by_text(re.compile("2 days in the past: the CAPA will be overdue")).is_visible()
    assert page.get_by_label("Description").input_value().startswith("Audit trail review")
    assert not audit.findings.exists()
    shot(page, "audit-finding-past-due-confirmation")
    page.get_by_label("CAPA due").fill((date.today() + timedelta(days=45)).isoformat())
    with page.expect_response(lambda r: r.request.method == "POST" and r.request.headers.get("hx-request")):
        page.get_by_role("button", name="Add finding").click()
    row = page.get_by_role("row").filter(has_text="Audit trail review of the HPLC data system")
    row.wait_for()
    assert "Major" in row.inner_text() and "Open · due" in row.inner_text()
    assert page.evaluate("window.noReloadMarker") == "still here"
    assert page.get_by_label("Description").input_value() == ""  # a fresh form for the next finding
    assert page.get_by_label(re.compile("The due date is in the past on purpose")).count() == 0
    assert audit.findings.get().capa.owner == "QA manager"
    shot(page, "audit-finding-added")

    # No signature without the recommended outcome: the page says what is missing instead of the button.
    page.reload()
    manifest = page.locator("section", has=page.get_by_role("heading", name="Signature manifest"))
    manifest.get_by_text("Record your recommended outcome in the").wait_for()
    assert manifest.get_by_role("button", name=re.compile("Sign the report")).count() == 0
    report = page.locator("#report")
    report.get_by_label("Scope statement").fill("Peptide API manufacturing, QC laboratory and HPLC data systems.")
    report.get_by_label("Executive summary").fill("Adequate quality system; data-integrity controls need work.")
    report.get_by_label("Attendees for the sponsor").fill("Marcus Feld, lead auditor")
    report.get_by_label("Attendees for the vendor").fill("Ines Baker, Head of QA\nTom Ruiz, QC manager")
    report.get_by_label("Distribution list").fill("Head of External Quality, sponsor")
    # "Approved" with the major CAPA open is refused until confirmed; the auditor makes it conditional instead.
    assert report.get_by_text("Open critical or major CAPAs:").is_visible()
    report.get_by_label("Recommended outcome").select_option("approved")
    report.get_by_role("button", name="Save the report").click()
    page.get_by_text(re.compile("You recommend “Approved” although the CAPA of finding #1 \\(major\\)")).wait_for()
    report = page.locator("#report")
    report.get_by_label("Recommended outcome").select_option("approved_with_conditions")
    report.get_by_label("Conditions of the recommended approval").fill("HPLC audit-trail review SOP in place first.")
    report.get_by_role("button", name="Save the report").click()
    page.get_by_text("Report saved.").wait_for()

    # Sign by re-entering the password: a wrong one signs nothing.
    page.get_by_text("You sign the report with the recommendation").wait_for()
    signed_before = Signature.objects.count()  # the demo's shortlist approvals
    page.get_by_label(re.compile("Re-enter your password to sign as Marcus Feld")).fill("not-the-password")
    page.get_by_role("button", name=re.compile("Sign the report")).click()
    page.get_by_text("The password is not correct; nothing was signed.").wait_for()
    assert Signature.objects.count() == signed_before
    page.get_by_label(re.compile("Re-enter your password to sign as")).fill(demo_password("auditor"))
    page.get_by_role("button", name=re.compile("Sign the report")).click()
    page.get_by_text("Report signed. It is now a record").wait_for()

    manifest = page.locator("section", has=page.get_by_role("heading", name="Signature manifest"))
    signed_row = manifest.get_by_role("row").filter(has_text="Marcus Feld (auditor)")
    signed_row.wait_for()
    cells = signed_row.get_by_role("cell").all_inner_texts()
    signature = Signature.objects.filter(meaning=Signature.Meaning.AUTHORED).latest("signed_at", "pk")  # just made
    assert cells[1] == f"{signature.signed_at:%Y-%m-%d %H:%M:%S} UTC"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", cells[1])
    assert cells[2] == "Authored and approved (report)" and cells[3] == "valid"
    assert page.get_by_text("Signed", exact=True).first.is_visible()
    assert page.get_by_role("button", name="Add finding").count() == 0  # a record now
    assert page.get_by_role("button", name="Save the report").count() == 0
    decision = page.get_by_role("region", name="Recommendation and decision")
    assert "Approved with conditions" in decision.inner_text()
    assert "awaits quality assurance's signature" in decision.inner_text()
    assert Audit.objects.get(pk=audit.pk).status == "signed"
    shot(page, "audit-signed")
    assert axe_violations(page) == []
    assert_no_console_errors(page)


def test_calendar_shows_the_audit_and_is_accessible(browser, live_server, demo):
    from audits.models import Audit

    audit = Audit.objects.get(site__vendor__name="Novaterra Pharma Services")
    held = audit.actual_start
    page = new_page(browser, live_server.url)
    login(page, "manager")
    page.get_by_role("heading", name="Manager home").wait_for()
    page.goto("/audits/")
    page.get_by_role("link", name="Calendar").click()
    page.get_by_role("heading", name=re.compile(r"Audit calendar: ")).wait_for()
    today = page.get_by_role("cell").and_(page.locator('[aria-current="date"]'))
    assert today.count() == 1 and "Today" in today.inner_text()
    shot(page, "audit-calendar-this-month")
    page.goto(f"/audits/calendar/?month={held:%Y-%m}")
    page.get_by_role("heading", name=f"Audit calendar: {held:%B %Y}").wait_for()
    grid = page.get_by_role("table", name=re.compile(f"Audits in {held:%B %Y}"))
    assert grid.get_by_role("link", name=re.compile("Novaterra Pharma Services")).count() >= 1
    assert axe_violations(page) == []
    shot(page, "audit-calendar")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(r"Export .* for Outlook")).click()
    content = Path(download.value.path()).read_text(encoding="utf-8")
    assert download.value.suggested_filename == f"audits-{held:%Y-%m}.ics"
    assert f"UID:audit-{audit.pk}@" in content and "BEGIN:VEVENT" in content
    grid.get_by_role("link", name=re.compile("Novaterra Pharma Services")).first.click()
    page.get_by_role("heading", name=re.compile("Novaterra Pharma Services")).wait_for()
    assert page.url.endswith(audit.get_absolute_url())
    page.context.close()
    assert_no_console_errors(page)


def test_qa_signs_the_outcome_of_the_signed_report(browser, live_server, demo):
    from accounts import roles
    from audits import services
    from audits.models import Audit, QualificationOutcome
    from tests.factories import UserFactory
    from vendors.models import Service, SiteQualification
    from vendorselect.builders import signing_request

    audit = Audit.objects.get(site__vendor__name="Quillon Peptide Works")
    services.report_update(audit=audit, user=audit.lead_auditor, recommended_outcome="approved")
    services.audit_sign(
        request=signing_request(), audit=audit, user=audit.lead_auditor, password=demo_password("auditor")
    )
    qa = UserFactory(username="quality", first_name="Ines", last_name="Quality", roles=[roles.QA])
    qa.set_password(demo_password("quality"))
    qa.save()
    activity = Service.objects.order_by("group", "position", "name").first()
    page = new_page(browser, live_server.url)
    login(page, "quality")
    page.get_by_role("navigation", name="Main").wait_for()
    page.goto(audit.get_absolute_url())
    page.get_by_text("The report is signed; the qualification outcome awaits quality assurance").wait_for()
    page.get_by_label("Qualification outcome for this site").select_option("approved_with_conditions")
    page.get_by_label("Conditions or remarks").fill("Close the open CAPA before the first GMP batch.")
    page.get_by_label(activity.name, exact=True).check()
    page.get_by_label(re.compile("Re-enter your password to sign the outcome as Ines Quality")).fill("not-it")
    page.get_by_role("button", name="Sign the outcome").click()
    page.get_by_text("The password is not correct; nothing was signed.").wait_for()
    assert not QualificationOutcome.objects.filter(audit=audit).exists()
    page.get_by_label(re.compile("Re-enter your password to sign the outcome as")).fill(demo_password("quality"))
    page.get_by_role("button", name="Sign the outcome").click()
    page.get_by_text("Outcome signed (Approved for quality): Approved with conditions.").wait_for()
    history = page.locator("section", has=page.get_by_role("heading", name="Qualification outcome", exact=True))
    row = history.get_by_role("row").filter(has_text="Ines Quality (quality)")
    cells = row.get_by_role("cell").all_inner_texts()
    assert cells[0].startswith("Approved with conditions") and cells[1] == activity.name
    assert cells[3] == "Approved for quality" and cells[6] == "valid"
    assert SiteQualification.objects.get(site=audit.site, activity=activity).status == "approved_with_conditions"
    assert axe_violations(page) == []
    shot(page, "audit-outcome-signed")
    page.context.close()
    assert_no_console_errors(page)


def test_verifying_a_capa_asks_for_evidence(page, demo, tmp_path):
    from audits.models import Capa

    capa = Capa.objects.get(finding__audit__site__vendor__name="Novaterra Pharma Services")
    assert capa.is_overdue
    login(page, "auditor")
    page.get_by_role("heading", name="Auditor home").wait_for()
    page.goto("/audits/capas/?overdue=true")
    row = page.get_by_role("row").filter(has_text="Novaterra Pharma Services")
    # No one-click "Verified effective" in the status list: verification has its own form.
    assert "Verified effective" not in row.get_by_label(f"New status of CAPA {capa.pk}").inner_text()
    row.get_by_text("Verify effectiveness…").click()
    row.get_by_label("How was effectiveness verified?").fill("Checked, fine.")
    row.get_by_role("button", name="Record as verified effective").click()
    row = page.get_by_role("row").filter(has_text="Novaterra Pharma Services")
    row.get_by_text(re.compile("Describe how effectiveness was verified")).wait_for()
    assert row.get_by_label("How was effectiveness verified?").input_value() == "Checked, fine."
    assert Capa.objects.get(pk=capa.pk).status == "open"
    evidence = tmp_path / "deviation-trend.csv"
    evidence.write_text("month,deviations with root cause\n2026-09,12 of 12\n2026-10,9 of 9\n", encoding="utf-8")
    note = "Reviewed all 21 deviations closed since the CAPA: each has a documented root cause analysis."
    row.get_by_label("How was effectiveness verified?").fill(note)
    row.get_by_label(re.compile("Evidence file")).set_input_files(str(evidence))
    row.get_by_role("button", name="Record as verified effective").click()
    page.get_by_text("CAPA verified effective.").wait_for()
    # Verified: no longer overdue, so gone from the overdue list it was verified from.
    assert page.get_by_role("row").filter(has_text="Novaterra Pharma Services").count() == 0
    verified = Capa.objects.select_related("verification_evidence", "verified_by").get(pk=capa.pk)
    assert verified.status == "verified" and verified.verification_note == note
    assert verified.verification_evidence.original_name == "deviation-trend.csv"
    page.goto("/audits/capas/?status=verified")
    row = page.get_by_role("row").filter(has_text="Novaterra Pharma Services")
    assert note in row.inner_text() and "deviation-trend.csv" in row.inner_text()
    assert "Verified by Marcus Feld" in row.inner_text()
    shot(page, "capa-verified-with-evidence")
    assert axe_violations(page) == []
    assert_no_console_errors(page)
