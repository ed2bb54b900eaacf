"""Reading the audit trail that PostgreSQL triggers write (django-pghistory event tables).

Each regulated model has an append-only event table: one row per insert, update and delete,
whatever the path (page, API, admin, bulk update, import, raw SQL), with the context of the
request or task that made it (user, URL, reason). This module turns those rows into readable
entries (who, when, what, field: old -> new, reason) for the history tabs and QA's search.
It lives in core because it reads across every app, through the app registry (it imports none).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

import pghistory
import pgtrigger
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import checks
from django.db import connection
from django.utils.text import capfirst
from pghistory.models import Events

ACTIONS = {
    "insert": "Created",
    "update": "Changed",
    "delete": "Deleted",
    "add": "Linked",
    "remove": "Unlinked",
    "password_change": "Password changed",
}
SECRET_FIELDS = {"password", "snapshot"}  # shown as "changed" without the values


def available() -> bool:
    """The triggers exist only on PostgreSQL; the embedded SQLite default keeps no trail."""
    return connection.vendor == "postgresql"


def track_links(*fields, app_label: str) -> None:
    """Trail the rows of many-to-many links too (a vendor's services, a user's roles, an evaluation's
    evaluators): adding is an "add" event, removing a "remove" event; a link is never updated in
    place (the database refuses it, so no change goes unrecorded). Call from the app's models."""
    for link in fields:
        through = link.through
        pgtrigger.Protect(name="link_not_updated", operation=pgtrigger.Update).register(through)
        pghistory.create_event_model(
            through,
            pghistory.InsertEvent("add"),
            pghistory.DeleteEvent("remove"),
            model_name=f"{through.__name__.replace('_', '')}Event",
            app_label=app_label,
            abstract=False,
        )


def reason(text: str) -> None:
    """Record why, for the trail entries of the writes that follow in this request or task."""
    if text and available():
        pghistory.context(reason=text[:500])


def context(**metadata):
    """Who or what makes the writes inside (user id, task, command, reason), for their trail entries.
    A no-op on SQLite, where there is no trail to attach it to."""
    return pghistory.context(**metadata) if available() else contextlib.nullcontext()


def _all_event_models() -> list:
    return [m for m in apps.get_models() if issubclass(m, pghistory.models.Event) and not m._meta.abstract]


def tracked_models() -> list[tuple[str, str]]:
    """(label, verbose name) of every model with a trail, for the search form."""
    return sorted(
        (m.pgh_tracked_model._meta.label, str(m.pgh_tracked_model._meta.verbose_name).capitalize())
        for m in _all_event_models()
    )


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class Entry:
    at: datetime
    action: str
    model: str
    object_id: str
    user_id: int | None
    user: str
    url: str
    reason: str
    changes: list[Change] = field(default_factory=list)
    event: str = ""


def _labels(model) -> dict[str, str]:
    return {f.attname: capfirst(str(f.verbose_name)) for f in model._meta.concrete_fields}


def _show(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def entries(events) -> list[Entry]:
    """Readable entries from Events rows (a page of them: one query for the users)."""
    events = list(events)
    user_ids = {e.pgh_context.get("user") for e in events if e.pgh_context and e.pgh_context.get("user")}
    users = get_user_model().objects.in_bulk([u for u in user_ids if isinstance(u, int)])
    result = []
    for event in events:
        model = apps.get_model(event.pgh_obj_model)
        labels = _labels(model)
        context = event.pgh_context or {}
        user = users.get(context.get("user"))
        if event.pgh_label == "password_change":
            changes = [Change("Password", "(hidden)", "(changed)")]
        elif event.pgh_label == "update" and event.pgh_diff:
            items = sorted(event.pgh_diff.items())
            changes = [
                Change(labels.get(k, k), *(("(hidden)", "(changed)") if k in SECRET_FIELDS else map(_show, v)))
                for k, v in items
                if k in labels
            ]
        else:
            data = event.pgh_data or {}
            changes = [
                Change(labels[k], "", "(recorded)" if k in SECRET_FIELDS else _show(v))
                for k, v in data.items()
                if k in labels and v not in (None, "", [], {})
            ]
        who = user.printed_name if user else context.get("command") or context.get("task") or "system"
        result.append(
            Entry(
                at=event.pgh_created_at,
                action=ACTIONS.get(event.pgh_label, event.pgh_label),
                model=str(model._meta.verbose_name).capitalize(),
                object_id=event.pgh_obj_id or "",
                user_id=user.pk if user else None,
                user=who,
                url=context.get("url", ""),
                reason=context.get("reason", ""),
                changes=changes,
                event=event.pgh_slug,
            )
        )
    return result


def history(obj, limit: int = 500):
    """Events of the record and of the rows that point to it (a vendor's sites and contacts...)."""
    return Events.objects.references(obj).order_by("-pgh_created_at", "-pgh_id")[:limit]


def search(*, model: str = "", user=None, since=None, until=None, object_id: str = "", action: str = ""):
    across = [m for m in _all_event_models() if not model or m.pgh_tracked_model._meta.label == model]
    if not across:
        return Events.objects.none()
    events = Events.objects.across(*across)
    if user is not None:
        events = events.filter(pgh_context__user=user.pk)
    # Ranges on the timestamp rather than a cast to date, which no index can serve (times are UTC).
    if since:
        events = events.filter(pgh_created_at__gte=datetime.combine(since, time.min, tzinfo=UTC))
    if until:
        events = events.filter(pgh_created_at__lt=datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC))
    if object_id:
        events = events.filter(pgh_obj_id=object_id)
    if action:
        events = events.filter(pgh_label=action)
    return events.order_by("-pgh_created_at", "-pgh_id")


def rows(items: list[Entry]):
    """Header and one row per changed field, for CSV/XLSX export."""
    yield ["Time (UTC)", "User", "Action", "Record", "Record id", "Field", "Old value", "New value", "Reason", "URL"]
    for e in items:
        for change in e.changes or [Change("", "", "")]:
            yield [
                e.at.strftime("%Y-%m-%d %H:%M:%S"),
                e.user,
                e.action,
                e.model,
                e.object_id,
                change.field,
                change.old,
                change.new,
                e.reason,
                e.url,
            ]


@checks.register("trail", deploy=True)
def check_trail_database(app_configs=None, **kwargs):
    """`check --deploy` warns when the database cannot keep the audit trail."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return [
            checks.Warning(
                "The audit trail is written by PostgreSQL triggers; this database keeps none.",
                hint="Set DATABASE_URL to a PostgreSQL database for any regulated (GxP) use.",
                id="vendorselect.W001",
            )
        ]
    return []
