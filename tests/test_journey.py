"""The whole pipeline in one browser journey, from a new evaluation to an audit that changes a score.

Starting from the demo data, people do through the pages what they would do at work: the lead sets
up an evaluation with AHP weights, two evaluators score it blind, the lead reviews and proposes a
shortlist, a manager signs it, the lead generates and downloads RFP packets, and an auditor's signed
audit lowers a candidate's derived quality-systems score. The key pages are saved as screenshots.
"""

import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from tests.browsing import login, new_page, shot
from vendorselect.management.commands.seed_demo import demo_password

# As in tests/test_browser.py: Playwright's greenlets see other connection objects, so serialized
# rollback cannot restore the migrated reference data here; seed_demo re-creates it instead.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVALUATION = "Oral peptide tablets for Phase II (journey)"
CANDIDATES = ["Quillon Peptide Works", "Novaterra Pharma Services", "Sakura Process Chemistry"]
AUDITED = "Quillon Peptide Works"  # a clean audit on record (demo data): quality systems 5.00 before
# Row criterion versus column criterion on Saaty's scale (upper triangle of the AHP matrix).
PAIRWISE = {
    ("Scope fit", "Regulatory track record"): "1",
    ("Scope fit", "Scale flexibility"): "3",
    ("Scope fit", "Technology transfer"): "3",
    ("Scope fit", "Quality systems"): "1/2",
    ("Scope fit", "Cultural fit and communication"): "5",
    ("Regulatory track record", "Scale flexibility"): "3",
    ("Regulatory track record", "Technology transfer"): "2",
    ("Regulatory track record", "Quality systems"): "1/2",
    ("Regulatory track record", "Cultural fit and communication"): "5",
    ("Scale flexibility", "Technology transfer"): "1",
    ("Scale flexibility", "Quality systems"): "1/3",
    ("Scale flexibility", "Cultural fit and communication"): "2",
    ("Technology transfer", "Quality systems"): "1/3",
    ("Technology transfer", "Cultural fit and communication"): "3",
    ("Quality systems", "Cultural fit and communication"): "7",
}
# The criteria the evaluators judge (the others are derived from evidence), and their scores.
JUDGED = ["Technology transfer", "Cultural fit and communication"]
SCORES = {
    "evaluator": {
        "Quillon Peptide Works": [5, 4],
        "Novaterra Pharma Services": [4, 4],
        "Sakura Process Chemistry": [3, 3],
    },
    "evaluator2": {
        "Quillon Peptide Works": [4, 2],  # two points below evaluator 1 on cultural fit: flagged
        "Novaterra Pharma Services": [4, 5],
        "Sakura Process Chemistry": [2, 4],
    },
}


def switch_user(page, username):
    """Another person at another desk: a fresh session, signed in."""
    page.context.clear_cookies()
    login(page, username)
    page.get_by_role("navigation", name="Main").wait_for()


def open_evaluation(page):
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Evaluations", exact=True).click()
    page.get_by_role("link", name=EVALUATION).click()
    page.get_by_role("heading", name=EVALUATION).wait_for()


def score_grid(page, scores):
    for vendor, values in scores.items():
        for criterion, value in zip(JUDGED, values, strict=True):
            label = f"{criterion} score for {vendor}"
            page.get_by_label(label).select_option(str(value))
            # htmx saves the cell in place; wait until it says so.
            page.locator("form.score-cell.is-saved", has=page.get_by_label(label)).wait_for()


def ranking_cell(page, vendor, column):
    """`vendor`'s cell under the `column` heading of the ranking table."""
    table = page.locator("table.ranking-table")
    headings = [text.strip() for text in table.locator("thead th").all_text_contents()]  # not upper-cased by CSS
    index = next(i for i, text in enumerate(headings) if text.startswith(column))
    row = table.locator("tbody tr").filter(has=page.get_by_role("link", name=vendor, exact=True))
    return row.locator("td").nth(index)


def test_from_a_new_evaluation_to_an_audit_that_changes_a_score(browser, live_server, page, demo):
    from playwright.sync_api import expect

    today = date.today()

    # 1. The lead creates the evaluation and invites the two evaluators.
    login(page, "lead")
    page.get_by_role("heading", name="Procurement lead home").wait_for()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Evaluations", exact=True).click()
    page.get_by_role("link", name="New evaluation").click()
    page.get_by_role("heading", name="New evaluation").wait_for()
    page.get_by_label("Name", exact=True).fill(EVALUATION)
    page.get_by_label("Description", exact=True).fill("Solid-phase synthesis, process development and clinical supply.")
    page.get_by_label("Modality", exact=True).select_option(label="Peptide")
    page.get_by_label("Phase", exact=True).select_option(label="Phase II")
    page.get_by_label("CDMO — contract development and manufacturing organization").check()
    page.get_by_label("FDA", exact=True).check()
    page.get_by_label("EU national authority (EMA-coordinated)").check()
    page.get_by_label("Tomás Okafor (evaluator)").check()
    page.get_by_label("Hannah Lindqvist (evaluator2)").check()
    page.get_by_role("button", name="Create evaluation").click()
    page.get_by_text("Evaluation created with the default scorecard and equal weights.").wait_for()
    page.get_by_role("heading", name=EVALUATION).wait_for()

    # 2. Quality systems is derived from audit findings and CAPA instead of being judged by the evaluators
    #    (the default): only a derived criterion takes the audits into account.
    page.locator("summary").filter(has_text=re.compile(r"^Quality systems$")).click()
    source = page.get_by_label("Source of Quality systems")
    source.select_option(label="Derived: audit findings and CAPA")
    page.locator("form.criterion-edit", has=source).get_by_role("button", name="Save").click()
    page.get_by_text("Criterion saved.").wait_for()
    quality_row = page.get_by_role("row").filter(has=page.locator("summary", has_text="Quality systems"))
    assert "Derived: audit findings and CAPA" in quality_row.inner_text()

    # 3. Three candidates from the register.
    for vendor in CANDIDATES:
        page.get_by_label("Vendor to add").fill(vendor.split()[0])  # a search of the register, not a list of it
        page.get_by_role("button", name=f"Add {vendor}").click()
        page.get_by_text(f"{vendor} added.").wait_for()
    candidates = page.locator("section", has=page.get_by_role("heading", name="Candidates", exact=True))
    for vendor in CANDIDATES:
        assert candidates.get_by_role("link", name=vendor, exact=True).is_visible()

    # 4. Weights by AHP pairwise comparison; the consistency ratio is shown.
    page.get_by_text("Derive weights from pairwise comparisons (AHP)").click()
    for (row, column), value in PAIRWISE.items():
        page.get_by_label(f"{row} versus {column}").select_option(value)
    page.get_by_role("button", name="Compute weights").click()
    page.get_by_text("Weights derived from the pairwise comparisons.").wait_for()
    weights = page.locator("section", has=page.get_by_role("heading", name="Criteria and weights"))
    expect(weights).to_contain_text(re.compile(r"version 2 · AHP pairwise comparisons · CR 0\.01\d"))
    assert "33.8 %" in weights.get_by_role("row").filter(has_text="Quality systems").inner_text()
    page.get_by_text("Derive weights from pairwise comparisons (AHP)").click()  # show the matrix as saved
    assert page.get_by_label("Quality systems versus Cultural fit and communication").input_value() == "7"
    shot(page, "journey-ahp-weights")

    # 5. Scoring opens.
    page.get_by_role("button", name="Start scoring").click()
    page.get_by_text("Done: start scoring.").wait_for()

    # 6. The evaluators score at their own desks (two browser windows), blind.
    switch_user(page, "evaluator")
    open_evaluation(page)
    page.get_by_role("link", name="Enter my scores").click()
    page.get_by_role("heading", name="Rubrics").wait_for()
    score_grid(page, SCORES["evaluator"])
    second = new_page(browser, live_server.url)
    login(second, "evaluator2")
    open_evaluation(second)
    second.get_by_role("link", name="My scores", exact=True).click()
    second.get_by_role("heading", name="Rubrics").wait_for()
    # Evaluator 1's scores are not shown to evaluator 2: every cell is still empty.
    selects = second.locator("form.score-cell select")
    assert selects.count() == len(CANDIDATES) * len(JUDGED)
    assert {selects.nth(i).input_value() for i in range(selects.count())} == {""}
    score_grid(second, SCORES["evaluator2"])

    # Before submitting, evaluator 1 still sees only their own scores, and no ranking or comparison.
    page.reload()
    assert page.get_by_label("Cultural fit and communication score for Quillon Peptide Works").input_value() == "4"
    assert page.get_by_text("6 of 6 scores entered").is_visible()
    # The help names what this evaluation derives, quality systems included since step 2.
    expect(page.locator("main")).to_contain_text(
        "Derived from evidence, so not scored here: Scope fit, Regulatory track record, Scale flexibility, "
        "Quality systems."
    )
    shot(page, "journey-scoring-grid")
    for tab in ("Ranking", "Compare", "Sensitivity"):
        page.get_by_role("link", name=tab, exact=True).click()
        page.get_by_text("Blind scoring: submit your own scores").wait_for()
        assert page.locator("table.ranking-table").count() == 0
    page.get_by_role("link", name="My scores", exact=True).click()
    page.get_by_role("button", name="Submit my scores").click()
    page.get_by_text("Scores submitted. You now see the other evaluators' scores and the ranking.").wait_for()
    assert page.get_by_label("Technology transfer score for Sakura Process Chemistry").is_disabled()

    # Evaluator 2 has not submitted: still blind, although evaluator 1 has.
    second.get_by_role("link", name="Ranking", exact=True).click()
    second.get_by_text("Blind scoring: submit your own scores").wait_for()
    second.get_by_role("link", name="Go to my scores").click()
    second.get_by_role("button", name="Submit my scores").click()
    second.get_by_text("Scores submitted.").wait_for()
    second.get_by_role("link", name="Ranking", exact=True).click()
    second.locator("table.ranking-table").wait_for()
    evaluator_errors = second.console_errors
    second.context.close()

    # 7. The lead moves to review and reads the ranking, the disagreement and the sensitivity.
    switch_user(page, "lead")
    open_evaluation(page)
    team = page.locator("section", has=page.get_by_role("heading", name="Team and progress"))
    assert team.get_by_text("submitted").count() == 2
    page.get_by_role("link", name="Move to review").click()
    page.get_by_role("button", name="Confirm: move to review").click()
    page.get_by_text("Done: move to review.").wait_for()
    page.get_by_role("link", name="Ranking", exact=True).click()
    page.locator("table.ranking-table tbody tr").first.wait_for()
    # Sakura has no audit on record: its quality systems score is missing, so it is not ranked ...
    assert ranking_cell(page, "Sakura Process Chemistry", "Quality systems").inner_text().strip() == "missing"
    assert ranking_cell(page, "Sakura Process Chemistry", "Rank").inner_text().strip() == "incomplete"
    # ... until the lead records a justified value from the quality questionnaire.
    page.get_by_label("Candidate", exact=True).select_option(label="Sakura Process Chemistry")
    page.get_by_label("Criterion", exact=True).select_option(label="Quality systems")
    page.get_by_label("Value", exact=True).fill("3.5")
    page.get_by_label("Justification", exact=True).fill(
        "Quality questionnaire and remote QA interview; no on-site audit yet."
    )
    page.get_by_role("button", name="Override").click()
    page.get_by_text("Quality systems of Sakura Process Chemistry overridden.").wait_for()
    ranks = page.locator("table.ranking-table tbody tr td:first-child").all_inner_texts()
    assert [r.strip() for r in ranks] == ["1", "2", "3"]
    names = page.locator("table.ranking-table tbody tr td:nth-child(2) a").all_inner_texts()
    top_two = names[:2]
    assert AUDITED in top_two
    quality_before = ranking_cell(page, AUDITED, "Quality systems").inner_text().strip()
    total_before = ranking_cell(page, AUDITED, "Total").inner_text().strip()
    assert quality_before == "5.00" and names[0] == AUDITED  # the clean audit on record; the leader
    assert page.get_by_role("img", name="evaluators disagree by 2 points").count() >= 1
    page.get_by_role("heading", name="Evaluator agreement per criterion (Kendall's W)").wait_for()
    # No batch-size range: scale flexibility does not apply, which is not the same as missing.
    scale = ranking_cell(page, "Sakura Process Chemistry", "Scale flexibility")
    assert scale.inner_text().strip() == "not applicable"
    assert "no batch-size range" in scale.locator("span[title]").get_attribute("title")
    # At 1440 px every column of the ranking is in view, without scrolling sideways.
    assert page.locator(".ranking-scroll").evaluate("box => box.scrollWidth <= box.clientWidth")
    shot(page, "journey-ranking")
    page.get_by_role("link", name="Sensitivity", exact=True).click()
    page.get_by_role("heading", name=re.compile("Tipping points")).wait_for()
    page.get_by_role("heading", name="Rank acceptability").wait_for()
    shot(page, "journey-sensitivity")

    # 8. The lead proposes the top two as the shortlist and submits it for approval.
    page.get_by_role("link", name="Shortlist", exact=True).click()
    page.get_by_role("heading", name="Propose a shortlist").wait_for()
    for vendor in top_two:
        page.get_by_label(vendor, exact=True).check()
    page.get_by_label("Rationale").fill("The two best-ranked candidates on the AHP weights; both passed every gate.")
    assert page.get_by_label("Signed approvals required").input_value() == "1"  # the site's default
    page.get_by_role("button", name="Submit for approval").click()
    page.get_by_text("Submitted for approval.").wait_for()
    page.get_by_text("Awaiting approval").first.wait_for()

    # 9. The manager opens it from the home page and signs the approval, re-entering the password.
    switch_user(page, "manager")
    pending = page.locator("section", has=page.get_by_role("heading", name="Awaiting your approval"))
    pending.get_by_role("link", name=f"{EVALUATION} — version 1").click()
    page.get_by_role("heading", name=re.compile("Your decision")).wait_for()
    page.get_by_label("Approve", exact=True).check()
    page.get_by_label("Password").fill(demo_password("manager"))
    page.get_by_role("button", name="Sign").click()
    page.get_by_text("Your decision is signed and recorded.").wait_for()
    # One approval is enough by count, but the evaluation's policy (the default on the page) asks for
    # quality assurance's signature too: still awaiting approval.
    assert page.get_by_text("1 of 1 required, quality assurance’s (“Approved for quality”) among them").is_visible()
    manifest = page.locator("section", has=page.get_by_role("heading", name="Signature manifest"))
    assert "Elena Vasquez" in manifest.inner_text() and "valid" in manifest.inner_text()
    shot(page, "journey-shortlist-signed")

    # 9b. The QA head signs from their home: "Approved for quality", a meaning of its own.
    switch_user(page, "qa-manager")
    pending = page.locator("section", has=page.get_by_role("heading", name="Awaiting your quality signature"))
    pending.get_by_role("link", name=f"{EVALUATION} — version 1").click()
    page.get_by_role("heading", name=re.compile("Your decision")).wait_for()
    page.get_by_label("Approve", exact=True).check()
    page.get_by_label("Password").fill(demo_password("qa-manager"))
    page.get_by_role("button", name="Sign").click()
    page.get_by_text("Your decision is signed and recorded.").wait_for()
    page.get_by_text("Approved", exact=True).first.wait_for()
    manifest = page.locator("section", has=page.get_by_role("heading", name="Signature manifest"))
    assert "Kenji Watanabe" in manifest.inner_text() and "Approved for quality" in manifest.inner_text()

    # 10. The lead issues an RFP to the shortlist, generates the packets and downloads one.
    switch_user(page, "lead")
    open_evaluation(page)
    page.get_by_role("link", name="Shortlist", exact=True).click()
    page.get_by_role("link", name="Open version 1").click()
    page.get_by_role("link", name="New RFP").click()
    page.get_by_label("Sponsor (your company)").fill("Helix Therapeutics")
    page.get_by_label("Questions due").fill((today + timedelta(days=10)).isoformat())
    page.get_by_label("Proposal due").fill((today + timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Create RFP").click()
    page.get_by_text("RFP created.").wait_for()
    page.get_by_role("button", name="Generate packets").click()
    page.get_by_text("2 of 2 packets generated").wait_for(timeout=60_000)
    expect(page.get_by_role("progressbar", name="Packets generated")).to_have_attribute("value", "100")
    shot(page, "journey-rfp-packets")
    packets = page.locator("#packets")
    with page.expect_download() as download:
        packets.get_by_role("row").filter(has_text=AUDITED).get_by_role("link", name="PDF").click()
    text = " ".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    assert AUDITED in text and "Helix Therapeutics" in text and "Page 1 of" in text

    # 11. The auditor plans and holds an audit at the candidate's site, records two findings and signs.
    switch_user(page, "auditor")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audits", exact=True).click()
    page.get_by_role("link", name="Plan an audit").click()
    site = page.get_by_label("Site", exact=True)
    site.select_option(label=site.locator("option", has_text=AUDITED).inner_text())
    page.get_by_label("Type", exact=True).select_option(label="For-cause")
    page.get_by_label("Planned start").fill(today.isoformat())
    page.get_by_label("Planned end").fill((today + timedelta(days=1)).isoformat())
    page.get_by_label("Deviations and CAPA").check()
    page.get_by_label("Data integrity").check()
    page.get_by_role("button", name="Plan audit").click()
    page.get_by_text("Audit planned.").wait_for()
    page.get_by_role("button", name="Start the audit").click()
    page.get_by_text("Done: start the audit.").wait_for()
    findings = [
        ("critical", "data_integrity", "21 CFR 211.68", "Shared logins on the HPLC data system; audit trail disabled."),
        ("major", "deviations_capa", "21 CFR 211.192", "Deviations closed without a root cause investigation."),
    ]
    for severity, area, regulation, description in findings:
        page.get_by_label("Severity").select_option(severity)
        page.get_by_label("Quality-system area").select_option(area)
        page.get_by_label("Regulation").fill(regulation)
        page.get_by_label("Description").fill(description)
        page.get_by_label("CAPA due").fill((today + timedelta(days=60)).isoformat())
        page.get_by_role("button", name="Add finding").click()
        page.get_by_role("row").filter(has_text=description).wait_for()
    page.get_by_role("button", name="Mark the report drafted").click()
    page.get_by_text("Done: mark the report drafted.").wait_for()
    # The report and its recommendation come before the signature (the CAPAs are open: approved with conditions).
    report = page.locator("#report")
    report.get_by_label("Scope statement").fill("For-cause audit of data integrity and deviation handling.")
    report.get_by_label("Executive summary").fill("Data-integrity controls of the HPLC systems are inadequate.")
    report.get_by_label("Recommended outcome").select_option("approved_with_conditions")
    report.get_by_label("Conditions of the recommended approval").fill("Both CAPAs verified effective first.")
    report.get_by_role("button", name="Save the report").click()
    page.get_by_label(re.compile("Re-enter your password to sign as Marcus Feld")).fill(demo_password("auditor"))
    page.get_by_role("button", name=re.compile("Sign the report")).click()
    page.get_by_text("Report signed. It is now a record").wait_for()
    audit_manifest = page.locator("section", has=page.get_by_role("heading", name="Signature manifest"))
    assert "Marcus Feld (auditor)" in audit_manifest.inner_text()
    shot(page, "journey-audit-signed")

    # 12. The lead sees the audited candidate's quality systems score drop in the evaluation.
    switch_user(page, "lead")
    open_evaluation(page)
    page.get_by_role("link", name="Ranking", exact=True).click()
    page.locator("table.ranking-table tbody tr").first.wait_for()
    quality = ranking_cell(page, AUDITED, "Quality systems")
    assert quality_before == "5.00" and quality.inner_text().strip() == "2.00"  # 5 − critical 2 − major 1
    assert "1 critical, 1 major → 2" in quality.locator("span[title]").get_attribute("title")
    assert float(ranking_cell(page, AUDITED, "Total").inner_text()) < float(total_before)
    # The open critical finding also fails a default gate at that site: knocked out, not just lower.
    assert ranking_cell(page, AUDITED, "Rank").inner_text().strip() == "KO"
    assert "open critical audit finding" in ranking_cell(page, AUDITED, "Vendor").inner_text()
    shot(page, "journey-ranking-after-audit")
    page.get_by_role("link", name="Compare", exact=True).click()
    page.wait_for_url("**/compare/")
    # Compare starts with the ranked candidates; the knocked-out one is added by hand.
    page.get_by_label(AUDITED, exact=True).check()
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_url(re.compile(r"/compare/\?"))
    compared = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Quality systems"))
    compared.wait_for()  # the headings below are read at once, not retried: the compare table must be there
    headings = [text.strip() for text in page.locator("table thead th").all_text_contents()]
    assert compared.get_by_role("cell").nth(headings.index(AUDITED) - 1).inner_text().strip() == "2.00"
    # The radar's axis labels lie inside the chart (its viewBox), so none is cut off at any width.
    cut_off = page.locator("svg.radar").evaluate(
        """svg => { const box = svg.viewBox.baseVal;
          return [...svg.querySelectorAll("text")].filter(text => { const b = text.getBBox();
            return b.x < box.x || b.y < box.y || b.x + b.width > box.x + box.width || b.y + b.height > box.y + box.height;
          }).map(text => text.textContent); }"""
    )
    assert cut_off == []
    shot(page, "journey-compare-after-audit")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "journey-compare-narrow")
    page.set_viewport_size({"width": 1440, "height": 900})

    assert page.console_errors == [] and evaluator_errors == [], (page.console_errors, evaluator_errors)
