"""After the award, in the browser: QA signs a quality agreement, enters a quarter of performance that
breaches a threshold, sees the flag, the site's standing fall to "on watch" and its requalification
date move forward (risk-based requalification)."""

from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model

from oversight import kpis, requalification, selectors
from oversight.models_qa import QualityAgreement, RiskAssessment
from tests.browsing import assert_no_console_errors, login, shot
from vendors.models import Service, Site
from vendorselect import builders
from vendorselect.management.commands.seed_demo import demo_password

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_qa_signs_an_agreement_and_a_bad_quarter_moves_requalification(demo, page):
    # The demo's awarded site: a signed quality agreement, four quarters declining to "on watch", and its
    # requalification moved forward a year (seed_demo.seed_oversight).
    awarded = QualityAgreement.objects.get(status="effective").site
    assert selectors.standing_of([awarded.pk])[awarded.pk].code == "on_watch"
    moved = RiskAssessment.objects.filter(site=awarded).order_by("-pk").first()
    assert moved.interval_months == 12 and moved.previous_due > moved.due == awarded.requalification_due

    User = get_user_model()
    qa, auditor = User.objects.get(username="qa-manager"), User.objects.get(username="auditor")
    site = Site.objects.filter(vendor__name="Sakura Process Chemistry").order_by("name").first()
    site = builders.qualified_site(
        site=site, auditor=auditor, qa=qa, password=lambda user: demo_password(user.username)
    )
    agreement = builders.agreement_ready(
        site=site, activity=Service.objects.get(code="drug-product-manufacturing"), qa=qa
    )
    # Three good quarters on record, ending the quarter before the last full one.
    last_full_start, _ = kpis.quarter_of(kpis.quarter_of(date.today())[0] - timedelta(days=1))
    builders.performance_quarters(
        site=site,
        user=qa,
        quarters=builders.DECLINING_QUARTERS[:3],
        last_end=last_full_start - timedelta(days=1),
    )
    site.refresh_from_db()
    due_before = site.requalification_due
    assert due_before == requalification.add_months(requalification.basis_date(site), 24)

    login(page, "qa-manager")
    # 1. QA signs the quality agreement (password re-entry).
    page.goto(f"/oversight/agreements/{agreement.pk}/")
    assert "Draft" in page.locator("#agreement-status").inner_text()
    page.get_by_label("Your password").fill(demo_password("qa-manager"))
    page.get_by_role("button", name="Sign the agreement").click()
    page.wait_for_url(f"**/oversight/agreements/{agreement.pk}/")
    assert "awaiting the vendor" in page.locator("#agreement-status").inner_text()
    assert "Kenji Watanabe, Approved for quality" in page.content()
    shot(page, "oversight-agreement-signed")

    # 2. The last quarter's performance: right first time 8 of 10 breaches the 90 % threshold.
    start, end = kpis.quarter_of(last_full_start)
    page.goto("/oversight/performance/new/")
    page.locator("[name=site]").select_option(label=f"{site.vendor.name} — {site.name}")
    page.locator("[name=start]").fill(start.isoformat())
    page.locator("[name=end]").fill(end.isoformat())
    for name, value in builders.DECLINING_QUARTERS[3].items():
        page.locator(f"[name={name}]").fill(str(value))
    page.get_by_role("button", name="Record the period").click()

    # 3. The flag and the standing on the scorecard (where saving leads).
    page.wait_for_url(f"**/oversight/sites/{site.pk}/scorecard/")
    content = page.content()
    assert "Right first time 80.0 % is below the threshold of 90.0 %" in content
    assert "On watch" in content
    shot(page, "oversight-scorecard-on-watch")

    # 4. The requalification date moved forward a year, with its reason.
    site.refresh_from_db()
    assert site.requalification_due == requalification.add_months(requalification.basis_date(site), 12) < due_before
    page.goto(f"/oversight/sites/{site.pk}/risk/")
    assert page.locator("#requalification-due").inner_text() == f"{site.requalification_due:%Y-%m-%d}"
    history = page.locator("#risk-history").inner_text()
    assert "Performance scorecard" in history and "On watch" in history and f"was {due_before:%Y-%m-%d}" in history
    assert "+20: performance standing: On watch" in page.locator("#risk-factors").inner_text()
    shot(page, "oversight-site-risk")
    assert_no_console_errors(page)
