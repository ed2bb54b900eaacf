"""Oversight of awarded vendor sites: quality agreements, supplier performance and scorecards, and
risk-based requalification (EU GMP Chapter 7, ICH Q10, FDA's 2016 quality-agreement guidance)."""

from __future__ import annotations
