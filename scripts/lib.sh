# Shared steps of scripts/demo.sh and scripts/test.sh. Sourced, not run.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${ODOO_PYTHON:-python3}"
CACHE="${ODOO_HA_CACHE:-$HOME/.cache/odoo_ha_addon}"
# Odoo finds addons by directory name, and a clone may be named anything:
# expose this checkout as `odoo_ha_addon` in an addons directory of its own.
RUN_ID="$(printf '%s' "$REPO" | sha1sum | cut -c1-10)"
ADDONS_DIR="$CACHE/addons-$RUN_ID"
ADDON="$ADDONS_DIR/odoo_ha_addon"
export ODOO_HA_CACHE="$CACHE"

say() { printf '==> %s\n' "$*"; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

require_odoo() {
    local found
    found="$("$PY" -c 'import odoo.release as r; print(r.version)' 2>/dev/null || true)"
    case "$found" in
        18.0*) say "Odoo $found ($("$PY" -c 'import odoo, os; print(os.path.dirname(odoo.__file__))'))" ;;
        *) die "Odoo 18.0 is required but $PY ${found:+has Odoo $found}${found:-cannot import odoo}.
Install Odoo 18.0 Community from source into this Python (outside this repository),
as https://www.odoo.com/documentation/18.0/administration/on_premise/source.html describes:
    git clone --depth 1 --branch 18.0 https://github.com/odoo/odoo /opt/odoo18
    echo 'setuptools<81' > /tmp/constraints.txt   # an Odoo pin does not build with setuptools>=81
    PIP_CONSTRAINT=/tmp/constraints.txt $PY -m pip install -r /opt/odoo18/requirements.txt
    $PY -m pip install -e /opt/odoo18
(Debian needs: apt-get install libldap2-dev libsasl2-dev libpq-dev.)
Or point ODOO_PYTHON at a Python that has Odoo 18 installed." ;;
    esac
    # The prefork server's gevent worker runs this at start; when it fails
    # that worker crash-loops (the tests run a prefork server).
    if ! "$PY" -W ignore -c 'from gevent import monkey; monkey.patch_all()' >/dev/null 2>&1; then
        die "Odoo's gevent worker cannot start in $PY: $("$PY" -W ignore -c 'from gevent import monkey; monkey.patch_all()' 2>&1 | tail -n 1)
gevent 22 (Odoo 18's pin) needs pkg_resources, removed from setuptools 81, and zope.* of its time:
    $PY -m pip install 'setuptools<81' 'zope.interface<7' 'zope.event<6'"
    fi
}

start_postgres() {
    # Only a local server is ours to start.
    case "${PGHOST:-}" in ""|localhost|127.0.0.1|/*) ;; *) return 0 ;; esac
    if ! pg_isready -q 2>/dev/null; then
        command -v pg_ctlcluster >/dev/null || die "PostgreSQL is not running and pg_ctlcluster is missing: start PostgreSQL 12+ and run again."
        say "Starting the local PostgreSQL"
        pg_lsclusters --no-header | while read -r ver name _; do
            pg_ctlcluster "$ver" "$name" start 2>/dev/null || true
        done
        for _ in $(seq 30); do pg_isready -q && break; sleep 1; done
        pg_isready -q || die "PostgreSQL did not start; see /var/log/postgresql/."
    fi
    if ! psql -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
        [ "$(id -u)" = 0 ] || die "PostgreSQL has no role for $(id -un): run 'sudo -u postgres createuser -s $(id -un)'."
        say "Creating the PostgreSQL role $(id -un)"
        su postgres -c "createuser -s $(id -un)"
    fi
}

install_python_deps() {
    if ! "$PY" -c 'import websocket, pytest_odoo, hypothesis' 2>/dev/null || ! "$PY" -m ruff --version >/dev/null 2>&1; then
        say "Installing Python dependencies"
        "$PY" -m pip install -q -r "$REPO/requirements.txt" -r "$REPO/requirements-dev.txt"
    fi
}

install_js_tools() {
    # ESLint and Prettier for the front end, pinned by package-lock.json.
    if [ ! -x "$REPO/node_modules/.bin/eslint" ] || [ "$REPO/package-lock.json" -nt "$REPO/node_modules/.package-lock.json" ]; then
        command -v npm >/dev/null || die "npm is needed for the JavaScript lint: install Node.js 18+ (Debian: apt-get install nodejs npm)."
        say "Installing the JavaScript lint tools"
        (cd "$REPO" && npm ci --no-audit --no-fund --silent)
    fi
}

install_chromium() {
    command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null && return 0
    [ "$(id -u)" = 0 ] || die "Chromium is needed for the browser tests: install it (Debian: sudo apt-get install chromium)."
    say "Installing Chromium"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

link_addon() {
    mkdir -p "$ADDONS_DIR"
    ln -sfn "$REPO" "$ADDON"
}

# write_odoo_conf FILE DB [extra lines...]
write_odoo_conf() {
    local file="$1" db="$2"
    shift 2
    mkdir -p "$(dirname "$file")" "$CACHE/data"
    {
        echo "[options]"
        echo "addons_path = $ADDONS_DIR"
        echo "data_dir = $CACHE/data"
        echo "db_name = $db"
        echo "dbfilter = ^$db\$"
        echo "http_interface = 127.0.0.1"
        echo "list_db = False"
        for line in "$@"; do echo "$line"; done
    } >"$file"
}

ha_peers_up() {
    "$PY" "$REPO/tools/ha_peers.py" up --profile "$1"
}

db_exists() {
    [ "$(psql -d postgres -Atqc "select 1 from pg_database where datname = '$1'")" = 1 ]
}

# odoo_init CONF DB: install the addon in DB (update it when already there).
odoo_init() {
    local conf="$1" db="$2" log="$CACHE/odoo-init-$2.log" mode
    if db_exists "$db" && [ "$(psql -d "$db" -Atqc "select state from ir_module_module where name='odoo_ha_addon'" 2>/dev/null)" = installed ]; then
        mode=(-u odoo_ha_addon)
        say "Updating odoo_ha_addon in database $db"
    else
        mode=(-i odoo_ha_addon)
        say "Creating database $db with odoo_ha_addon"
    fi
    if ! "$PY" -m odoo -c "$conf" -d "$db" "${mode[@]}" --without-demo=all --stop-after-init --no-http --log-level=warn >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "Odoo could not install odoo_ha_addon in $db (full log: $log)."
    fi
    if grep -E ' (ERROR|CRITICAL) ' "$log" >&2; then
        die "Odoo reported errors while installing odoo_ha_addon in $db (full log: $log)."
    fi
}
