"""REST API of oversight: supplier performance, KPIs, scorecards, thresholds and standing rules
(/api/v1/performance-records, /api/v1/kpi-thresholds, /api/v1/standing-rules, /api/v1/scorecards),
and quality agreements / risk-based requalification."""

from oversight import api_performance, api_qa


def register_routes(router) -> None:
    # --- supplier performance and scorecards: oversight/api_performance.py ---
    api_performance.register_routes(router)
    # --- quality agreements and risk-based requalification ---
    api_qa.register_routes(router)
