"""Reading the audit trail that PostgreSQL triggers write (django-pghistory event tables).

Each regulated model has an append-only event table: one row per insert, update and delete,
whatever the path (page, API, admin, bulk update, import, raw SQL), with the context of the
request or task that made it (user, URL, reason). This module turns those rows into readable
entries (who, when, what, field: old -> new, reason) for the history tabs and QA's search.
It lives in core because it reads across every app, through the app registry (it imports none).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

import pghistory
import pgtrigger
from django.apps import apps
from django.contrib.auth import get_user_model
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
    if text:
        pghistory.context(reason=text[:500])


def context(**metadata):
    """Who or what makes the writes inside (user id, task, command, reason), for their trail entries."""
    return pghistory.context(**metadata)


def _all_event_models() -> list:
    return [m for m in apps.get_models() if issubclass(m, pghistory.models.Event) and not m._meta.abstract]


# What the people who read the trail call each kind of record (QA, auditors, inspectors), by model
# label: the trail search's choices, its result rows, the exports and the history tabs all use these.
# A many-to-many link table is named after what it means ("Evaluation: allowed kinds"), never Django's
# "evaluation-kind relationship". A model missing here (a new one) is named from its verbose name, and
# a link table from its record and field, so nothing shows a raw model name; add it here to name it well.
RECORD_TYPES: dict[str, str] = {
    "accounts.User": "User account",
    "accounts.User_groups": "User account: roles",
    "accounts.User_user_permissions": "User account: individual permissions",
    "accounts.Signature": "Electronic signature",
    "accounts.RefusedAttempt": "Refused attempt (signature or approval)",
    "vendors.Vendor": "Vendor",
    "vendors.Vendor_kinds": "Vendor: kinds",
    "vendors.Vendor_services": "Vendor: services",
    "vendors.Vendor_modalities": "Vendor: modalities",
    "vendors.Vendor_dosage_forms": "Vendor: dosage forms",
    "vendors.Vendor_phases": "Vendor: phases",
    "vendors.Contact": "Vendor contact",
    "vendors.Site": "Site",
    "vendors.Site_capabilities": "Site: capabilities",
    "vendors.RegulatoryInspection": "Regulatory inspection",
    "vendors.WarningLetter": "Warning letter",
    "vendors.ImportAlert": "Import alert",
    "vendors.GmpCertificate": "GMP certificate or statement",
    "vendors.SiteQualification": "Site qualification (approved supplier list)",
    "audits.Audit": "Audit",
    "audits.Audit_co_auditors": "Audit: co-auditors",
    "audits.Finding": "Audit finding",
    "audits.FindingAttachment": "Audit finding: evidence file",
    "audits.Capa": "CAPA",
    "audits.AuditAmendment": "Audit report amendment",
    "audits.AuditReport": "Audit report (PDF)",
    "audits.QualificationOutcome": "Qualification outcome",
    "scoring.Evaluation": "Evaluation",
    "scoring.Evaluation_evaluators": "Evaluation: evaluators",
    "scoring.Evaluation_required_services": "Evaluation: required services",
    "scoring.Evaluation_allowed_kinds": "Evaluation: allowed kinds",
    "scoring.ProgramStep": "Program step",
    "scoring.ProgramStep_services": "Program step: services",
    "scoring.Criterion": "Criterion",
    "scoring.WeightSet": "Weights (version)",
    "scoring.CriterionWeight": "Criterion weight",
    "scoring.KnockoutRule": "Must-have gate",
    "scoring.Candidate": "Candidate",
    "scoring.ProposedSite": "Candidate: proposed site",
    "scoring.Score": "Score",
    "scoring.Submission": "Score submission",
    "scoring.DerivedOverride": "Evidence score override",
    "scoring.Shortlist": "Shortlist",
    "scoring.ShortlistEntry": "Shortlist entry",
    "scoring.ShortlistDecision": "Shortlist decision",
    "rfp.RfpTemplate": "RFP template",
    "rfp.Rfp": "RFP",
    "rfp.RfpAttachment": "RFP attachment",
    "rfp.Packet": "RFP packet",
    "rfp.Delivery": "RFP packet delivery",
    "rfp.Question": "RFP question and answer",
    "rfp.Proposal": "Proposal",
    "rfp.ProposalDocument": "Proposal document",
    "oversight.PerformanceRecord": "Supplier performance (period)",
    "oversight.Scorecard": "Supplier scorecard (computed)",
    "oversight.KpiSetting": "Supplier KPI setting (weight, threshold)",
    "oversight.StandingRules": "Supplier standing rules (version)",
    "oversight.QualityAgreement": "Quality agreement",
    "oversight.AgreementLine": "Quality agreement: responsibility",
    "oversight.VendorSignature": "Quality agreement: vendor's signature",
    "oversight.RiskMatrix": "Risk matrix (version)",
    "oversight.RiskAssessment": "Site risk assessment",
    "rfp.Award": "Award",
    "rfp.AwardLine": "Award: awarded vendor",
    "rfp.AwardDecision": "Award decision",
    "rfp.AwardNotice": "Award or regret notice (PDF)",
}
# The areas of the search form's record types, in the order of the work; an app not listed is named
# after its app config.
AREAS: dict[str, str] = {
    "vendors": "Vendor register",
    "audits": "Audits and quality",
    "scoring": "Evaluations and shortlists",
    "rfp": "RFPs and proposals",
    "oversight": "Oversight after the award",
    "accounts": "Users and signatures",
}
ACRONYMS = {"rfp": "RFP", "capa": "CAPA", "gmp": "GMP", "qa": "QA", "cda": "CDA", "sop": "SOP"}


def _readable(text: str) -> str:
    words = [ACRONYMS.get(word.lower(), word) for word in str(text).split(" ")]
    return capfirst(" ".join(words))


def record_type_name(model) -> str:
    """The business name of a kind of record (a model or its label): "CAPA", "Evaluation: allowed kinds"."""
    model = apps.get_model(model) if isinstance(model, str) else model
    meta = model._meta.concrete_model._meta
    if meta.label in RECORD_TYPES:
        return RECORD_TYPES[meta.label]
    if meta.auto_created:  # a many-to-many link table: the record it belongs to and the field's meaning
        owner = meta.auto_created
        field = next((f for f in owner._meta.many_to_many if f.remote_field.through is model), None)
        if field is not None:
            return f"{record_type_name(owner)}: {field.verbose_name}"
    return _readable(meta.verbose_name)


def record_area(model) -> str:
    model = apps.get_model(model) if isinstance(model, str) else model
    label = model._meta.app_label
    return AREAS.get(label) or str(apps.get_app_config(label).verbose_name)


def tracked_models() -> list[tuple[str, str]]:
    """(label, business name) of every model with a trail, sorted by name."""
    return sorted(
        ((m.pgh_tracked_model._meta.label, record_type_name(m.pgh_tracked_model)) for m in _all_event_models()),
        key=lambda choice: (choice[1].split(":")[0].casefold(), choice[1].casefold()),  # links after their record
    )


def record_type_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The search form's record types grouped by area (in the order of the work), sorted by name in each."""
    order = list(AREAS.values())
    groups: dict[str, list[tuple[str, str]]] = {}
    for label, name in tracked_models():
        groups.setdefault(record_area(label), []).append((label, name))
    return sorted(
        groups.items(), key=lambda group: (order.index(group[0]) if group[0] in order else len(order), group[0])
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
    is_link: bool = False  # a link row (its id means nothing to a reader; what it joins is in the changes)


def _labels(model) -> dict[str, str]:
    return {f.attname: capfirst(str(f.verbose_name)) for f in model._meta.concrete_fields}


def _show(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _link_targets(events) -> dict[tuple[str, object], str]:
    """The names of the records that link rows join ("Service: Fill-finish (id 17)" rather than "17"):
    one query per kind of record joined, on the page's link events only."""
    wanted: dict = {}
    for event in events:
        model = apps.get_model(event.pgh_obj_model)
        if model._meta.auto_created and event.pgh_data:
            for field in model._meta.concrete_fields:
                if field.is_relation and event.pgh_data.get(field.attname) is not None:
                    wanted.setdefault(field.related_model, set()).add(event.pgh_data[field.attname])
    return {
        (target._meta.label, pk): str(record)
        for target, ids in wanted.items()
        for pk, record in target._default_manager.in_bulk(list(ids)).items()
    }


def _linked(model, attname: str, value, targets) -> str:
    if model._meta.auto_created:
        field = next((f for f in model._meta.concrete_fields if f.attname == attname and f.is_relation), None)
        name = targets.get((field.related_model._meta.label, value)) if field else None
        if name is not None:
            return f"{name} (id {value})"
    return _show(value)


def entries(events) -> list[Entry]:
    """Readable entries from Events rows (a page of them: one query for the users, and one per kind of
    record that the page's link rows join)."""
    events = list(events)
    user_ids = {e.pgh_context.get("user") for e in events if e.pgh_context and e.pgh_context.get("user")}
    users = get_user_model().objects.in_bulk([u for u in user_ids if isinstance(u, int)])
    targets = _link_targets(events)
    result = []
    for event in events:
        model = apps.get_model(event.pgh_obj_model)
        labels = _labels(model)
        if model._meta.auto_created:  # a link row: what it joins, by name, not its own id
            labels.pop(model._meta.pk.attname, None)
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
                Change(labels[k], "", "(recorded)" if k in SECRET_FIELDS else _linked(model, k, v, targets))
                for k, v in data.items()
                if k in labels and v not in (None, "", [], {})
            ]
        who = (
            user.printed_name
            if user
            else context.get("portal") or context.get("command") or context.get("task") or "system"
        )
        result.append(
            Entry(
                at=event.pgh_created_at,
                action=ACTIONS.get(event.pgh_label, event.pgh_label),
                model=record_type_name(model),
                object_id=event.pgh_obj_id or "",
                user_id=user.pk if user else None,
                user=who,
                url=context.get("url", ""),
                reason=context.get("reason", ""),
                changes=changes,
                event=event.pgh_slug,
                is_link=bool(model._meta.auto_created),
            )
        )
    return result


def history(obj, limit: int = 500):
    """Events of the record and of the rows that point to it (a vendor's sites and contacts...)."""
    return Events.objects.references(obj).order_by("-pgh_created_at", "-pgh_id")[:limit]


# A search counts its results exactly up to this many (a bounded count); above it, the planner's estimate.
EXACT_COUNT_UP_TO = 10_000


def _user_id(user) -> int | None:
    return None if user is None else user.pk


# An entry's place in the search's order (newest first): its time, its event table's label, its id.
Key = tuple[datetime, str, int]


def key_of(event) -> str:
    """The link text of an event's place (`parse_key` reads it back), for keyset page links: an Events row
    of a search, or a row of an event table."""
    label = getattr(event, "pgh_model", None) or event._meta.label
    return f"{event.pgh_created_at.isoformat()}~{label}~{event.pgh_id}"


def parse_key(text: str | None) -> Key | None:
    """The place `key_of` wrote, or None for anything else (a hand-edited or truncated link)."""
    parts = (text or "").split("~")
    if len(parts) != 3 or not parts[2].isdigit() or len(parts[2]) > 18:
        return None
    try:
        at = datetime.fromisoformat(parts[0])
        model = apps.get_model(parts[1])
    except (ValueError, LookupError):
        return None
    if at.tzinfo is None or not issubclass(model, pghistory.models.Event):
        return None
    return at, parts[1], int(parts[2])


# The SQL below is put together from table names of the app registry; every value is a parameter.
class Search:
    """QA's search across the trail: what `search()` returns, for a Paginator or a slice (the exports).

    The trail is one event table per kind of record. Newest first, a page is read in two steps whose cost
    does not grow with the trail: the keys of the page's events (a UNION ALL of one small index scan per
    table, each limited to the page's end, on the indexes of `pgh_created_at` and of the context's user
    that the costcurve_indexes migrations add), then the page's events themselves, their data, and the
    previous event of each record for an update's diff (one query, on the page's rows only). Nothing
    aggregates the whole trail, as pghistory's `Events` view does, for a page or for its count: the count
    is exact up to EXACT_COUNT_UP_TO results (a bounded count), and above that PostgreSQL's estimate
    (`estimated` is then True).
    """

    ordered = True  # for the Paginator: newest first, always

    def __init__(self, models, *, user_id=None, since=None, until=None, object_id="", action=""):
        self.models = [m for m in models if self._applies(m, user_id, object_id)]
        self.user_id, self.since, self.until, self.object_id, self.action = user_id, since, until, object_id, action
        self.estimated = False
        self._count = None

    @staticmethod
    def _applies(model, user_id, object_id) -> bool:
        names = {f.attname for f in model._meta.concrete_fields}
        if object_id and "pgh_obj_id" not in names:
            return False
        return not (user_id is not None and "pgh_context" not in names)

    def _where(self, model) -> tuple[str, list]:
        conditions: list[str] = []
        params: list = []
        if self.user_id is not None:
            # The expression of the user index (costcurve_indexes): the context's user, as JSON.
            conditions.append("(pgh_context -> 'user') = %s::jsonb")
            params.append(str(int(self.user_id)))
        # Ranges on the timestamp rather than a cast to date, which no index can serve (times are UTC).
        if self.since:
            conditions.append("pgh_created_at >= %s")
            params.append(datetime.combine(self.since, time.min, tzinfo=UTC))
        if self.until:
            conditions.append("pgh_created_at < %s")
            params.append(datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=UTC))
        if self.object_id:
            obj = model._meta.get_field("pgh_obj")
            if obj.target_field.get_internal_type() in ("AutoField", "BigAutoField", "IntegerField", "BigIntegerField"):
                conditions.append("pgh_obj_id = %s")
                params.append(int(self.object_id))
            else:
                conditions.append("pgh_obj_id::text = %s")
                params.append(str(self.object_id))
        if self.action:
            conditions.append("pgh_label = %s")
            params.append(self.action)
        return (" WHERE " + " AND ".join(conditions) if conditions else ""), params

    @staticmethod
    def _bound(model, key: Key, older: bool) -> tuple[str, list]:
        """Rows strictly after `key` in the search's order (older: newest first) or strictly before it; the
        row comparison is what the (pgh_created_at, pgh_id) index serves. Ties between tables go by label."""
        at, label, pk = key
        if older:
            operator = "<=" if model._meta.label < label else "<"
        else:
            operator = ">=" if model._meta.label > label else ">"
        return f"(pgh_created_at, pgh_id) {operator} (%s, %s)", [at, pk]

    def _union(self, limit: int | None, *, after: Key | None = None, before: Key | None = None) -> tuple[str, list]:
        """One SELECT per event table of (model label, pgh_id, pgh_created_at), filtered, newest first
        (oldest first when reading back from `before`)."""
        parts: list[str] = []
        params: list = []
        direction = "ASC" if before else "DESC"
        for model in self.models:
            where, values = self._where(model)
            if after or before:
                bound, more = self._bound(model, after or before, older=bool(after))  # type: ignore[arg-type]
                where = f"{where} AND {bound}" if where else f" WHERE {bound}"
                values = [*values, *more]
            tail = f" ORDER BY pgh_created_at {direction}, pgh_id {direction} LIMIT %s" if limit is not None else ""
            parts.append(
                f'(SELECT %s::text AS model, pgh_id, pgh_created_at FROM "{model._meta.db_table}"{where}{tail})'  # noqa: S608
            )
            params += [model._meta.label, *values, *([limit] if limit is not None else [])]
        return " UNION ALL ".join(parts), params

    def keys(
        self, offset: int, limit: int, *, after: Key | None = None, before: Key | None = None
    ) -> list[tuple[str, int]]:
        """The page's (label, pgh_id), newest first: by offset, or by keyset after (older than) or before
        (newer than) an entry, whose cost does not grow with how deep the page is."""
        if not self.models or limit <= 0:
            return []
        union, params = self._union(offset + limit, after=after, before=before)
        direction = "ASC" if before else "DESC"
        sql = (
            f"SELECT model, pgh_id FROM ({union}) AS found "  # noqa: S608
            f'ORDER BY pgh_created_at {direction}, pgh_id {direction}, model COLLATE "C" {direction} '
            "LIMIT %s OFFSET %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit, offset])
            found = cursor.fetchall()
        return found[::-1] if before else found

    def events(self, offset: int, limit: int, *, after: Key | None = None, before: Key | None = None) -> list[Events]:
        """The events of the page, as pghistory's Events (data, diff with the previous event of the same
        record, context), in the page's order."""
        keys = self.keys(offset, limit, after=after, before=before)
        if not keys:
            return []
        wanted: dict[str, list[int]] = {}
        for label, pk in keys:
            wanted.setdefault(label, []).append(pk)
        parts: list[str] = []
        params: list = []
        for label, ids in wanted.items():
            model = apps.get_model(label)
            table = model._meta.db_table
            has_obj = "pgh_obj_id" in {f.attname for f in model._meta.concrete_fields}
            previous = (
                f'(SELECT row_to_json(p)::jsonb FROM "{table}" p WHERE p.pgh_obj_id = e.pgh_obj_id '  # noqa: S608
                "AND p.pgh_id < e.pgh_id ORDER BY p.pgh_id DESC LIMIT 1)"
                if has_obj
                else "NULL::jsonb"
            )
            parts.append(
                f"(SELECT %s::text, e.pgh_id, e.pgh_created_at, e.pgh_label, "  # noqa: S608
                f"{'e.pgh_obj_id::text' if has_obj else 'NULL::text'}, e.pgh_context_id, e.pgh_context::jsonb, "
                f"row_to_json(e)::jsonb, {previous} "
                f'FROM "{table}" e WHERE e.pgh_id = ANY(%s))'
            )
            params += [label, ids]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            found = {(row[0], row[1]): row for row in cursor.fetchall()}
        result = []
        for key in keys:
            label, pk, at, action, obj_id, context_id, context, current, previous = found[key]
            data = {k: v for k, v in _json(current).items() if not k.startswith("pgh_")}
            before = _json(previous)
            diff = {k: [before[k], v] for k, v in data.items() if before is not None and k in before and before[k] != v}
            result.append(
                Events(
                    pgh_slug=f"{label}:{pk}",
                    pgh_model=label,
                    pgh_id=pk,
                    pgh_created_at=at,
                    pgh_label=action,
                    pgh_data=data,
                    pgh_diff=diff or None,
                    pgh_context_id=context_id,
                    pgh_context=_json(context),
                    pgh_obj_model=apps.get_model(label).pgh_tracked_model._meta.label,
                    pgh_obj_id=obj_id,
                )
            )
        return result

    def count(self) -> int:
        if self._count is None:
            self._count = self._counted()
        return self._count

    def _counted(self) -> int:
        if not self.models:
            return 0
        union, params = self._union(None)
        with connection.cursor() as cursor:
            # Counted, but never past the bound: a bounded count reads at most that many rows.
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM ({union}) AS found LIMIT %s) AS bounded",  # noqa: S608
                [*params, EXACT_COUNT_UP_TO + 1],
            )
            exact = cursor.fetchone()[0]
            if exact <= EXACT_COUNT_UP_TO:
                return exact
            cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM ({union}) AS found", params)  # noqa: S608
            estimate = int(_json(cursor.fetchone()[0])[0]["Plan"]["Plan Rows"])
        self.estimated = True
        # Two significant figures: an estimate should not look like a count.
        return max(EXACT_COUNT_UP_TO + 1, int(float(f"{estimate:.2g}")))

    def __len__(self) -> int:
        return self.count()

    def __iter__(self):
        return iter(self[:EXACT_COUNT_UP_TO])

    def __getitem__(self, key):
        if isinstance(key, int):
            found = self.events(key, 1)
            if not found:
                raise IndexError(key)
            return found[0]
        start, stop = key.start or 0, key.stop
        if key.step not in (None, 1) or stop is None or start < 0 or stop < 0:
            raise ValueError("A trail search is read in pages: [start:stop].")
        return self.events(start, stop - start)


@dataclass
class Page:
    """A page of a trail search for the page's links: Next and Previous go by keyset (the first and last
    entry's place), so that page 2,000 costs what page 2 does; `page=` alone is still read by offset."""

    events: list
    number: int
    count: int
    estimated: bool
    per_page: int
    has_previous: bool
    has_next: bool

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.events else 0

    @property
    def end_index(self) -> int:
        return self.start_index + len(self.events) - 1 if self.events else 0

    @property
    def previous_link(self) -> dict:
        if self.number <= 2 or not self.events:
            return {"page": 1, "after": None, "before": None}
        return {"page": self.number - 1, "after": None, "before": key_of(self.events[0])}

    @property
    def next_link(self) -> dict:
        return {"page": self.number + 1, "after": key_of(self.events[-1]) if self.events else None, "before": None}


def page(found: Search, *, number, after: str | None = None, before: str | None = None, per_page: int = 50) -> Page:
    """The page asked for: after (older than) or before (newer than) an entry when the link carries one,
    else page `number` by offset (a typed or bookmarked link, or a place that is not an entry's)."""
    try:
        number = max(1, int(number or 1))
    except (TypeError, ValueError):
        number = 1
    older, newer = parse_key(after), parse_key(before)
    count = found.count()
    if older:
        events = found.events(0, per_page + 1, after=older)
        return Page(events[:per_page], max(2, number), count, found.estimated, per_page, True, len(events) > per_page)
    if newer:
        events = found.events(0, per_page + 1, before=newer)
        if len(events) > per_page:
            events = events[1:]
            return Page(events, max(2, number), count, found.estimated, per_page, True, True)
        number = 1  # reached the newest entries: the first page, whole
    last = max(1, -(-count // per_page))
    number = min(number, last)
    events = found.events((number - 1) * per_page, per_page + 1)
    return Page(events[:per_page], number, count, found.estimated, per_page, number > 1, len(events) > per_page)


def _json(value):
    return json.loads(value) if isinstance(value, str | bytes) else value


def search(*, model: str = "", user=None, since=None, until=None, object_id: str = "", action: str = "") -> Search:
    """QA's search: every kind of record (or the one given), newest first; see `Search`."""
    across = [m for m in _all_event_models() if not model or m.pgh_tracked_model._meta.label == model]
    return Search(across, user_id=_user_id(user), since=since, until=until, object_id=object_id, action=action)


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
