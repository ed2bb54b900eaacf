#!/usr/bin/env bash
# The two database roles VendorSelect runs with (docs/operations.md, "Database roles"):
# - the owner runs the migrations and owns every table, trigger and function;
# - the application's role owns nothing, is not a superuser, and is granted its privileges by each
#   `migrate` (core/records.py): no UPDATE/DELETE on append-only tables, no TRUNCATE, and
#   no way to switch the protecting triggers off.
# Run as a PostgreSQL superuser; idempotent. Used by docker-compose's db (initdb) and by CI.
set -euo pipefail
db=${VENDORSELECT_DB:-vendorselect}
owner=${VENDORSELECT_DB_OWNER:-vendorselect_owner}
app=${VENDORSELECT_DB_APP:-vendorselect_app}
psql_as_superuser=(psql -v ON_ERROR_STOP=1 -q ${PGHOST:+-h "$PGHOST"} -U "${PGUSER:-${POSTGRES_USER:-postgres}}")
vars=(-v db="$db" -v owner="$owner" -v app="$app"
  -v owner_password="${VENDORSELECT_DB_OWNER_PASSWORD:-}" -v app_password="${VENDORSELECT_DB_APP_PASSWORD:-}")

"${psql_as_superuser[@]}" -d postgres "${vars[@]}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', :'owner')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT', :'app')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', r) FROM unnest(ARRAY[:'owner', :'app']) AS r \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'owner', :'owner_password') WHERE :'owner_password' <> '' \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'app', :'app_password') WHERE :'app_password' <> '' \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'db', :'app') \gexec
SQL

"${psql_as_superuser[@]}" -d "$db" "${vars[@]}" <<'SQL'
SELECT format('ALTER SCHEMA public OWNER TO %I', :'owner') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
echo "Database roles ready: owner $owner (migrations), application $app, database $db."
