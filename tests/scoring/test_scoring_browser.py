"""The scoring pages in headless Chromium: the grid from the keyboard only, and moving to review with an
evaluator who has not finished (the demo's peptide evaluation: evaluator 2 is at 10 of 21)."""

import re

import pytest

from scoring import services
from scoring.models import Evaluation, Score
from tests.browsing import axe_violations, login, new_page, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PEPTIDE = "Peptide API for Phase II/III (demo)"


def focused(page) -> str:
    """What has the keyboard focus: its accessible label (aria-label) or its text."""
    return page.evaluate(
        "() => document.activeElement.getAttribute('aria-label') || document.activeElement.textContent"
    )


def serious_violations(browser, live_server, username, url) -> list[str]:
    """axe-core's serious and critical findings on `url`, with the CSP in force (a violation of it counts)."""
    page = new_page(browser, live_server.url)
    login(page, username)
    page.get_by_role("navigation", name="Main").wait_for()
    page.goto(url)
    found = axe_violations(page) + page.console_errors
    page.context.close()
    return found


def test_an_evaluator_scores_from_the_keyboard_only(page, demo, browser, live_server):
    evaluation = Evaluation.objects.get(name=PEPTIDE)
    judged = list(evaluation.scored_criteria())
    grid_url = f"/evaluations/{evaluation.pk}/score/"
    login(page, "evaluator2")
    page.get_by_role("navigation", name="Main").wait_for()
    page.goto(grid_url)
    progress = page.locator("[data-grid-progress]")
    assert progress.inner_text().strip() == "10 of 21 scores entered."
    # The first empty cell, in the grid's order (rows by vendor, columns by criterion).
    forms = page.locator("form.score-cell")
    empty = [i for i in range(forms.count()) if forms.nth(i).locator("select").input_value() == ""]
    first, second, third = empty[0], empty[1], empty[2]
    label = forms.nth(first).locator("select").get_attribute("aria-label")
    forms.nth(first).locator("select").focus()  # the keyboard's starting point; no click anywhere

    # A digit chooses the score; the cell saves in place and the focus stays on it.
    page.keyboard.press("4")
    forms.nth(first).locator(".save-state", has_text="saved").wait_for()
    assert focused(page) == label
    progress.get_by_text("11 of 21 scores entered.").wait_for()  # live, no reload

    # Tab goes to the rationale; Enter saves it and goes to the next cell's score.
    page.keyboard.press("Tab")
    assert focused(page).startswith("Rationale for ")
    page.keyboard.type("Transfer team met twice; gap analysis offered")
    page.keyboard.press("Enter")
    assert focused(page) == forms.nth(first + 1).locator("select").get_attribute("aria-label")
    assert forms.nth(first).locator("input[name=rationale]").input_value() == (
        "Transfer team met twice; gap analysis offered"
    )

    # A rationale typed before the score is kept (no "whole numbers" message anywhere) and saved with it.
    while focused(page) != forms.nth(second).locator("select").get_attribute("aria-label"):
        page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("Responsive, same time zone")
    page.keyboard.press("Shift+Tab")
    assert page.locator("form.score-cell.has-error").count() == 0
    page.keyboard.press("2")
    forms.nth(second).locator(".save-state", has_text="saved").wait_for()
    progress.get_by_text("12 of 21 scores entered.").wait_for()
    page.keyboard.press("Enter")
    assert focused(page) == forms.nth(second + 1).locator("select").get_attribute("aria-label")
    while focused(page) != forms.nth(third).locator("select").get_attribute("aria-label"):
        page.keyboard.press("Enter")
    page.keyboard.press("5")
    forms.nth(third).locator(".save-state", has_text="saved").wait_for()
    progress.get_by_text("13 of 21 scores entered.").wait_for()
    assert page.locator("form.score-cell.has-error").count() == 0
    assert page.locator("form.score-cell [role=alert]").count() == 0
    shot(page, "scoring-grid-keyboard")

    # What was typed is stored, and shown again after a reload.
    mine = Score.objects.filter(candidate__evaluation=evaluation, evaluator__username="evaluator2")
    assert mine.count() == 13
    assert mine.filter(rationale="Transfer team met twice; gap analysis offered", value=4).count() == 1
    assert mine.filter(rationale="Responsive, same time zone", value=2).count() == 1
    page.reload()
    assert forms.nth(first).locator("input[name=rationale]").input_value().startswith("Transfer team met twice")
    assert progress.inner_text().strip() == "13 of 21 scores entered."
    assert len(judged) * evaluation.candidates.count() == 21
    assert page.console_errors == [], page.console_errors
    assert serious_violations(browser, live_server, "evaluator2", grid_url) == []


def test_the_grid_flags_knocked_out_candidates(page, demo, browser, live_server):
    """The demo's biologics program (in draft) opens for scoring: its gates knock out a recent OAI, a GLP
    fill-finish lab, no fill-finish at all and a 500 L ceiling; the evaluator sees which, and why."""
    evaluation = Evaluation.objects.get(name__startswith="Phase II mAb")
    services.evaluation_transition(evaluation=evaluation, user=evaluation.lead, action="start_scoring")
    login(page, "evaluator")
    page.get_by_role("navigation", name="Main").wait_for()
    page.goto(f"/evaluations/{evaluation.pk}/score/")
    page.get_by_role("heading", name="Rubrics").wait_for()
    knocked = page.locator("tr.knocked-out")
    assert knocked.count() >= 3
    borealis = knocked.filter(has=page.get_by_role("link", name="Borealis Biomanufacturing"))
    badge = borealis.locator(".badge", has_text="knocked out")
    assert "OAI" in badge.get_attribute("title")  # the reasons on hover ...
    assert "OAI" in borealis.locator("th").inner_text()  # ... and in the text beside the badge
    assert page.locator("tr:not(.knocked-out)").filter(has=page.get_by_role("link", name="Arcadia Biologics")).count()
    shot(page, "scoring-grid-knockouts")
    assert page.console_errors == [], page.console_errors
    assert serious_violations(browser, live_server, "evaluator", f"/evaluations/{evaluation.pk}/score/") == []


def test_the_lead_moves_to_review_with_an_incomplete_evaluator(page, demo, browser, live_server):
    evaluation = Evaluation.objects.get(name=PEPTIDE)
    login(page, "lead")
    page.get_by_role("navigation", name="Main").wait_for()
    page.goto(f"/evaluations/{evaluation.pk}/")
    page.get_by_role("link", name="Move to review").click()
    page.get_by_role("heading", name="Move to review?").wait_for()
    table = page.get_by_role("table", name="Completeness per evaluator")
    second = table.get_by_role("row").filter(has_text="10 of 21")
    assert "not submitted" in second.inner_text() and "incomplete" in second.inner_text()
    first = table.get_by_role("row").filter(has_text="21 of 21")
    assert "submitted" in first.inner_text() and "not submitted" not in first.inner_text()
    assert page.get_by_role("alert").filter(has_text="Scoring is incomplete").is_visible()
    shot(page, "move-to-review-confirm")
    # Confirming without a reason is refused under the field; nothing moves.
    page.get_by_role("button", name="Confirm: move to review").click()
    page.locator("#reason-error").wait_for()
    assert "confirm with a reason" in page.locator("#reason-error").inner_text()
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    assert evaluation.status == "scoring"
    page.get_by_label("Reason to move to review anyway").fill("Steering committee moved up; evaluator 2 on leave.")
    page.get_by_role("button", name="Confirm: move to review").click()
    page.get_by_text("Done: move to review.").wait_for()
    page.get_by_text("Moved to review before every evaluator submitted: Steering committee moved up").wait_for()
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    assert evaluation.status == "review"
    assert "Vendor to add" not in page.content()
    # The shortlist proposal shows completeness and the register status of each candidate.
    page.get_by_role("link", name="Shortlist", exact=True).click()
    page.get_by_role("heading", name="Propose a shortlist").wait_for()
    headers = [text.strip() for text in page.locator("table.data-table thead th").all_text_contents()]
    assert "Completeness" in headers and "Register status" in headers
    page.get_by_text(re.compile(r"Scores are missing for \d+ candidate")).wait_for()
    assert page.console_errors == [], page.console_errors
    assert serious_violations(browser, live_server, "lead", f"/evaluations/{evaluation.pk}/shortlist/") == []


def test_the_confirmation_page_has_no_serious_accessibility_violations(browser, live_server, demo):
    evaluation = Evaluation.objects.get(name=PEPTIDE)
    assert serious_violations(browser, live_server, "lead", f"/evaluations/{evaluation.pk}/review/") == []
    page = new_page(browser, live_server.url)
    login(page, "lead")
    page.goto(f"/evaluations/{evaluation.pk}/review/")
    page.get_by_role("heading", name="Move to review?").wait_for()
    assert page.console_errors == [], page.console_errors
    page.context.close()
