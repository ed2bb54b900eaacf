from datetime import date, timedelta

import pytest

from rfp import services
from scoring.models import Shortlist
from tests.scoring.test_shortlists import decide, submitted


@pytest.fixture
def approved(api_as, reviewed):
    """The two best vendors of `reviewed`, approved by the manager's signature."""
    shortlist = submitted(api_as, reviewed)
    assert decide(api_as("manager"), shortlist).status_code == 200
    return Shortlist.objects.get(pk=shortlist.pk)


def rfp_values(**overrides):
    today = date.today()
    return {
        "title": "Sterile fill RFP",
        "sponsor": "Helix Therapeutics",
        "program_background": "A lyophilised peptide for **Phase I**.",
        "scope_notes": "",
        "confidentiality": "",
        "issue_date": today,
        "questions_due": today + timedelta(days=10),
        "proposal_due": today + timedelta(days=30),
        "presentations": None,
        "award_decision": None,
        "contact_name": "Priya Raman",
        "contact_email": "priya@example.com",
        "disclose_weights": True,
        **overrides,
    }


@pytest.fixture
def rfp(approved, users):
    return services.rfp_create(shortlist=approved, user=users["procurement"], **rfp_values())
