#!/usr/bin/env bash
# Run once by the postgres image, on an empty data directory, after 10-ward-init.sql: Keycloak's own database and
# login role, apart from the platform's (no service role may connect to it). The password comes from the postgres
# container's environment (KEYCLOAK_DB_PASSWORD); none is written here.
set -euo pipefail
: "${KEYCLOAK_DB_PASSWORD:?KEYCLOAK_DB_PASSWORD is not set in the postgres container}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     --set=kc_password="$KEYCLOAK_DB_PASSWORD" <<'SQL'
CREATE ROLE keycloak LOGIN PASSWORD :'kc_password';
CREATE DATABASE keycloak OWNER keycloak;
REVOKE ALL ON DATABASE keycloak FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE keycloak TO keycloak;
SQL
