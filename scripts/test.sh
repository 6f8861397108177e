#!/usr/bin/env bash
# Run every test of odoo_ha_addon against real Odoo 18, PostgreSQL, Home
# Assistant and Chromium. Installs and starts what is missing; idempotent.
#
#   scripts/test.sh                 lint, then the whole suite with pytest-odoo
#   scripts/test.sh -k resolution   extra arguments go to pytest
#   scripts/test.sh --odoo-runner   the Odoo tests under odoo-bin --test-tags instead
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB="${ODOO_HA_TEST_DB:-odoo_ha_test}"
CONF="$CACHE/odoo-$DB-$RUN_ID.conf"

require_odoo
start_postgres
install_python_deps
install_js_tools
install_chromium
link_addon
ha_peers_up test
export HA_TEST_PEERS="$CACHE/peers/test.json"

say "Lint: ruff"
"$PY" -m ruff check --no-cache "$REPO"
"$PY" -m ruff format --no-cache --check "$REPO" >/dev/null || die "ruff format would change files: run '$PY -m ruff format .'"
say "Lint: eslint, prettier"
(cd "$REPO" && node_modules/.bin/eslint --no-error-on-unmatched-pattern static && node_modules/.bin/prettier --check --log-level warn --no-error-on-unmatched-pattern "static/**/*.js") ||
    die "JavaScript lint failed: fix the findings above (node_modules/.bin/prettier --write 'static/**/*.js' formats)."

write_odoo_conf "$CONF" "$DB"
export ODOO_HA_TEST_CONF="$CONF"

if [ "${1:-}" = "--odoo-runner" ]; then
    shift
    RUNNER_DB="${DB}_runner"
    say "Odoo's own runner on a fresh database $RUNNER_DB"
    dropdb --if-exists "$RUNNER_DB"
    exec "$PY" -m odoo -c "$CONF" -d "$RUNNER_DB" --db-filter="^$RUNNER_DB\$" -i odoo_ha_addon \
        --without-demo=all --test-tags /odoo_ha_addon --stop-after-init --http-port="${ODOO_RUNNER_PORT:-8169}" \
        --log-level=test "$@"
fi

# A fresh database every run: the tests must not depend on what a previous
# run left behind.
dropdb --if-exists "$DB"
odoo_init "$CONF" "$DB"

say "pytest (pytest-odoo, with the Odoo HTTP server)"
cd "$ADDON"
exec "$PY" -m pytest -p no:cacheprovider --odoo-config="$CONF" --odoo-database="$DB" --odoo-http \
    "$ADDON/tests" "$ADDON/ha_client/tests" "$ADDON/system_tests" "$@"
