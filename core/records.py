"""Records a regulator can trust, by construction: the database itself refuses to change them.

Three layers, each enough on its own for the application's database role:
1. Triggers. Signed and received records (signatures, decisions, amendments, deliveries, received
   documents, refused attempts) and the trail's event tables refuse UPDATE and DELETE; records
   whose content a signature covers (a signed audit, its findings, co-auditors and CAPA once
   closed; a submitted shortlist and its entries) refuse changes keyed on their signed state.
2. No switch. pgtrigger lets a session skip triggers with `SET pgtrigger.ignore`; its check
   function is replaced here so that only the schema owner (migrations, maintenance) can skip,
   never the application's role.
3. Privileges. The application connects as a role that owns nothing and is not a superuser
   (`DATABASE_APP_ROLE`); after every migrate it is granted what it needs, and no UPDATE, DELETE
   or TRUNCATE on the append-only tables (docs/operations.md, "Database roles").
"""

from __future__ import annotations

import logging

import pgtrigger
from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.models.signals import post_migrate

logger = logging.getLogger(__name__)

IMMUTABLE_OPERATION = pgtrigger.Update | pgtrigger.Delete


def immutable(name: str) -> pgtrigger.Protect:
    """The database refuses to change or delete the rows (the table is append-only)."""
    return pgtrigger.Protect(name=name, operation=IMMUTABLE_OPERATION)


class LockedWithParent(pgtrigger.Trigger):
    """Refuses inserting, changing and deleting child rows while their parent is in a locked state.

    Both the old and the new parent are checked, so a row can neither leave nor join a locked
    record. `via` = (table, column) reaches the parent through one intermediate row (a CAPA's
    finding's audit).
    """

    when = pgtrigger.Before
    operation = pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete

    def __init__(
        self,
        *,
        name: str,
        parent_table: str,
        parent_column: str,
        statuses: list[str],
        what: str,
        via: tuple[str, str] | None = None,
        **kwargs,
    ):
        self.parent_table = parent_table
        self.parent_column = parent_column
        self.statuses = statuses
        self.what = what
        self.via = via
        super().__init__(name=name, **kwargs)

    def _locked(self, row: str) -> str:
        # Table, column and status names come from model definitions, never from input.
        statuses = ", ".join(f"'{s}'" for s in self.statuses)
        key = f"{row}.{self.parent_column}"
        if self.via:
            table, column = self.via
            key = f"(SELECT {column} FROM {table} WHERE id = {key})"  # noqa: S608
        return f"EXISTS (SELECT 1 FROM {self.parent_table} WHERE id = {key} AND status IN ({statuses}))"  # noqa: S608

    def get_func(self, model) -> str:
        what = self.what.replace("'", "''")
        return f"""
            IF (TG_OP <> 'INSERT' AND {self._locked("OLD")}) OR (TG_OP <> 'DELETE' AND {self._locked("NEW")}) THEN
                RAISE EXCEPTION 'vendorselect: {what} is a locked record; % refused on %', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        """


def locked_when(*, name: str, statuses: list[str], may_change: list[str], transitions: dict[str, list[str]]):
    """Triggers for a record that becomes locked in `statuses`: no delete, no change of any column
    but `may_change` (new columns are covered by themselves), and status moves only along
    `transitions` (from -> allowed targets)."""

    def quoted(values) -> str:
        return ", ".join(f"'{v}'" for v in values)

    in_locked = f"OLD.status IN ({quoted(statuses)})"
    unlocked_columns = "".join(f" - '{column}'" for column in ("status", *may_change))
    changed = f"(to_jsonb(OLD){unlocked_columns}) IS DISTINCT FROM (to_jsonb(NEW){unlocked_columns})"
    triggers = [
        pgtrigger.Protect(
            name=f"{name}_no_delete", operation=pgtrigger.Delete, condition=pgtrigger.Condition(in_locked)
        ),
        pgtrigger.Protect(
            name=f"{name}_frozen",
            operation=pgtrigger.Update,
            condition=pgtrigger.Condition(f"{in_locked} AND {changed}"),
        ),
    ]
    for source in statuses:
        allowed = [source, *transitions.get(source, [])]
        triggers.append(
            pgtrigger.Protect(
                name=f"{name}_{source}_moves",
                operation=pgtrigger.Update,
                condition=pgtrigger.Condition(f"OLD.status = '{source}' AND NEW.status NOT IN ({quoted(allowed)})"),
            )
        )
    return triggers


def immutable_models() -> list:
    """Models whose table refuses every UPDATE and DELETE: an unconditional protect trigger for both,
    or an event table of the trail. Discovered from the registry, so a new one is covered by itself."""
    found = []
    for model in apps.get_models():
        for trigger in getattr(model._meta, "triggers", []):
            if (
                isinstance(trigger, pgtrigger.Protect)
                and trigger.condition is None
                and all(op in str(trigger.operation) for op in ("UPDATE", "DELETE"))
            ):
                found.append(model)
                break
    return found


# Only members of the role that ran the migrations may skip triggers; everyone else, the
# application's role included, gets the triggers whatever `pgtrigger.ignore` says.
HARDENED_IGNORE = """
CREATE OR REPLACE FUNCTION "public"._pgtrigger_should_ignore(trigger_name NAME)
RETURNS BOOLEAN AS $$
    DECLARE
        _pgtrigger_ignore TEXT[];
    BEGIN
        IF NOT pg_has_role(current_user, %(owner)s, 'MEMBER') THEN
            RETURN FALSE;
        END IF;
        -- missing_ok rather than an EXCEPTION block: that block is a subtransaction per row and trigger,
        -- whose end walks the statement's queued after-trigger events (quadratic in a bulk INSERT).
        _pgtrigger_ignore := NULLIF(CURRENT_SETTING('pgtrigger.ignore', TRUE), '')::TEXT[];
        RETURN _pgtrigger_ignore IS NOT NULL AND trigger_name = ANY(_pgtrigger_ignore);
    END;
$$ LANGUAGE plpgsql
"""


def append_only_tables() -> list[str]:
    import pghistory.models

    tables = {m._meta.db_table for m in immutable_models()}
    tables |= {
        m._meta.db_table
        for m in apps.get_models()
        if issubclass(m, pghistory.models.Event) and not m._meta.abstract and not m._meta.proxy
    }
    return sorted(tables)


def protect_database(using: str = "default") -> None:
    """Harden pgtrigger's ignore switch and grant the application's role its privileges.

    Idempotent; runs after every migrate (pgtrigger reinstalls its own ignore function whenever it
    installs a trigger, so the hardened one is put back last).
    """
    connection = connections[using]
    app_role = settings.DATABASE_APP_ROLE
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
        cursor.execute(HARDENED_IGNORE, {"owner": owner})
        if not app_role:
            return
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_role])
        if cursor.fetchone() is None:
            logger.warning("DATABASE_APP_ROLE %s does not exist: no privileges granted.", app_role)
            return
        if app_role == owner:
            logger.warning(
                "DATABASE_APP_ROLE %s owns the schema: the database cannot protect records from it.", app_role
            )
            return
        role = connection.ops.quote_name(app_role)
        statements = [
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        ]
        tables = ", ".join(connection.ops.quote_name(t) for t in append_only_tables())
        statements.append(f"REVOKE UPDATE, DELETE ON {tables} FROM {role}")
        for statement in statements:
            cursor.execute(statement)


def _after_migrate(sender, using, **kwargs) -> None:
    # post_migrate is sent once per app: act after the last one, when every trigger is installed.
    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if sender.label == last.label:
        protect_database(using)


def connect() -> None:
    post_migrate.connect(_after_migrate, dispatch_uid="core.records.protect_database")
