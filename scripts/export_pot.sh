#!/usr/bin/env bash
# Regenerate i18n/odoo_ha_addon.pot from the code and data (tests/test_i18n.py
# fails while it is stale).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB="${ODOO_HA_POT_DB:-odoo_ha_pot}"
CONF="$CACHE/odoo-pot-$RUN_ID.conf"

require_odoo
start_postgres
link_addon
write_odoo_conf "$CONF" "$DB"
dropdb --if-exists "$DB"
odoo_init "$CONF" "$DB"
mkdir -p "$REPO/i18n"
"$PY" -m odoo -c "$CONF" -d "$DB" --i18n-export="$REPO/i18n/odoo_ha_addon.pot" --modules=odoo_ha_addon \
    --stop-after-init --no-http --log-level=warn
dropdb --if-exists "$DB"
say "Wrote i18n/odoo_ha_addon.pot ($(grep -c '^msgid' "$REPO/i18n/odoo_ha_addon.pot") terms)"
