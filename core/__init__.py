"""Shared infrastructure that every app may use and that imports no app (the bottom layer).

The PDF sandbox, tabular downloads, the audit trail's helpers, records the database protects,
the refusal type and request checks, pagination and the OpenAPI error answers, form styling.
Anything here reaches app models only through Django's app registry, never by import
(docs/architecture.md).
"""
