#!/usr/bin/env bash
# The main job: two real Home Assistant demo peers and Odoo with the addon,
# both instances registered. Idempotent: a second run reuses what exists and
# restarts Odoo on the current code.
#
#   scripts/demo.sh          start (or refresh) everything, print URL and login
#   scripts/demo.sh stop     stop Odoo and the Home Assistant peers
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB="${ODOO_HA_DEMO_DB:-odoo_ha_demo}"
PORT="${ODOO_HA_DEMO_PORT:-8069}"
CONF="$CACHE/odoo-$DB-$RUN_ID.conf"
PIDFILE="$CACHE/odoo-demo.pid"
LOG="$CACHE/odoo-demo.log"

stop_odoo() {
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        say "Stopping the demo Odoo (pid $(cat "$PIDFILE"))"
        kill -TERM "$(cat "$PIDFILE")"
        for _ in $(seq 60); do kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.5; done
    fi
    rm -f "$PIDFILE"
}

if [ "${1:-}" = "stop" ]; then
    stop_odoo
    "$PY" "$REPO/tools/ha_peers.py" down --profile demo
    exit 0
fi

require_odoo
start_postgres
install_python_deps
link_addon
ha_peers_up demo
write_odoo_conf "$CONF" "$DB" "http_port = $PORT" "logfile = $LOG"
stop_odoo
odoo_init "$CONF" "$DB"

say "Registering the Home Assistant peers in $DB"
HA_PEERS="$CACHE/peers/demo.json" "$PY" -m odoo shell -c "$CONF" -d "$DB" --no-http --log-level=warn \
    <"$REPO/tools/register_peers.py" | grep -E '^(registered|updated) '

say "Starting Odoo on http://127.0.0.1:$PORT"
nohup "$PY" -m odoo -c "$CONF" -d "$DB" >/dev/null 2>&1 &
echo $! >"$PIDFILE"
for _ in $(seq 120); do
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT/web/login" 2>/dev/null && break
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || die "Odoo stopped while starting; see $LOG"
    sleep 0.5
done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/web/login" || die "Odoo did not answer on port $PORT; see $LOG"

cat <<MSG

Odoo is running with odoo_ha_addon and two Home Assistant instances.
    URL:    http://127.0.0.1:$PORT/odoo
    Login:  admin
    Password: admin
    Log:    $LOG
Home Assistant peers: see 'python3 tools/ha_peers.py status --profile demo'.
Stop everything with: scripts/demo.sh stop
MSG
