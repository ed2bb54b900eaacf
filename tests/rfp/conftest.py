import pytest

from tests.factories import PASSWORD
from vendorselect import builders
from vendorselect.builders import rfp_values

__all__ = ["rfp_values"]  # the tests that build RFPs by hand import it from here


@pytest.fixture
def approved(users, reviewed):
    """The two best vendors of `reviewed`, approved by the manager's signature."""
    evaluation, candidates = reviewed
    return builders.approved_shortlist(
        evaluation=evaluation,
        proposer=users["procurement"],
        approvers=[users["manager"]],
        candidates=candidates[2:],
        password=PASSWORD,
    )


@pytest.fixture
def rfp(approved, users):
    return builders.rfp_for(approved, users["procurement"])
