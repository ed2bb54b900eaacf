"""Oversight of awarded vendor sites: quality agreements, supplier performance and scorecards, and
risk-based requalification (EU GMP Chapter 7, ICH Q10, FDA's 2016 quality-agreement guidance)."""

from __future__ import annotations

# Supplier performance and scorecards: defined in their own module.
from oversight.models_performance import (  # noqa: F401
    KpiSetting,
    PerformanceRecord,
    Scorecard,
    Standing,
    StandingRules,
)

# Quality agreements and risk-based requalification: defined in their own module.
from oversight.models_qa import (  # noqa: F401
    AgreementLine,
    QualityAgreement,
    RiskAssessment,
    RiskMatrix,
    VendorSignature,
)
