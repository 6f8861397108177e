"""Fault drills: what a user sees when things break, and how fast it heals.

Runs a real Odoo server with the addon against the ``drill`` Home Assistant
peers (never the shared test peers: the drills stop, kill and freeze them)
and prints, for each fault, the state the dashboard shows, the time until
that state appears, the time until recovery, and whether any final state
was lost (the mirror is compared with Home Assistant's ``get_states``).

    python3 bench/drills.py [--only NAME ...]
"""

import argparse
import json
import os
import signal
import time

import psycopg2
from common import BENCH_DIR, OdooServer, Session, free_port, load_average, load_tool, machine, wait_http, write_conf

ha_peers = load_tool("ha_peers")
DETECT_TIMEOUT = 60.0
RECOVER_TIMEOUT = 90.0


class Drills:
    def __init__(self, prefork):
        self.mode = "prefork" if prefork else "threaded"
        self.dbname = f"odoo_ha_drills_{self.mode}"
        self.peers = ha_peers.ensure_up("drill")
        self.rows = []

    def start(self):
        conf = write_conf(self.dbname)
        extra = (
            ["--workers=2", "--max-cron-threads=1", f"--gevent-port={free_port()}"] if self.mode == "prefork" else []
        )
        log_path = BENCH_DIR / f"{self.dbname}.log"
        self.server = OdooServer(str(conf), self.dbname, ha_peers.state_path("drill"), extra, log_path)
        self.server.create_database()
        self.ids = dict(self.server.query("SELECT api_url, id FROM ha_instance"))
        self.server.start()
        self.base_url = f"http://127.0.0.1:{self.server.http_port}"
        wait_http(self.base_url)
        self.session = Session(self.base_url, self.dbname)
        for peer in self.peers:
            self.wait(lambda peer=peer: self.status(peer)["connected"], RECOVER_TIMEOUT, f"{peer.name} connected")
            self.wait(lambda peer=peer: self.mirror(peer), RECOVER_TIMEOUT, f"{peer.name} mirrored")

    def stop(self):
        self.session.close()
        self.server.stop()

    # -- observations ---------------------------------------------------------------

    def status(self, peer):
        """What the dashboard shows for the instance: the websocket_status route."""
        answer = self.session.rpc("/odoo_ha_addon/websocket_status", {"ha_instance_id": self.ids[peer.url]})
        return answer["data"]

    def mirror(self, peer):
        return dict(
            self.server.query("SELECT entity_id, state FROM ha_entity WHERE instance_id = %s", (self.ids[peer.url],))
        )

    def lost_states(self, peer):
        """Entities whose mirrored state differs from Home Assistant's, after a settling wait."""
        deadline = time.monotonic() + 30
        while True:
            ha = {state["entity_id"]: state["state"] for state in peer.ws_call("get_states")}
            mirror = self.mirror(peer)
            lost = sorted(entity for entity, state in ha.items() if mirror.get(entity) != state)
            if not lost or time.monotonic() > deadline:
                return lost
            time.sleep(0.2)

    @staticmethod
    def wait(predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except Exception:
                pass  # the server or the peer may be down meanwhile
            time.sleep(0.05)
        raise TimeoutError(f"{what}: not within {timeout:.0f} s")

    def toggle(self, peer, entity_id="light.bed_light"):
        peer.rest("POST", "/api/services/homeassistant/toggle", json={"entity_id": entity_id})

    # -- one drill ------------------------------------------------------------------------

    def drill(self, name, peer, fault, heal, during=None, expect_drop=True):
        # "fix took" is the repair itself (e.g. Home Assistant's restart);
        # "reconnected after fix" is Odoo's part of the recovery.
        """Apply ``fault``, time what the user sees, ``heal``, time the recovery."""
        before = self.status(peer)
        started = time.monotonic()
        fault()
        seen = detected = None
        if expect_drop:
            try:
                self.wait(lambda: not self.status(peer)["connected"], DETECT_TIMEOUT, "drop shown")
                seen = self.status(peer)
                detected = time.monotonic() - started
            except TimeoutError:
                pass
        call = self.timed_call(peer)
        if during:
            during()
        healing = time.monotonic() if expect_drop else started
        heal()
        healed = time.monotonic() if expect_drop else started
        # "since" has a one-second resolution: after a drop that was seen,
        # being connected again is the recovery.
        self.wait(
            lambda: (
                self.status(peer)["connected"] and (seen is not None or self.status(peer)["since"] != before["since"])
            ),
            RECOVER_TIMEOUT,
            "recovery",
        )
        recovered = time.monotonic() - healed
        self.toggle(peer)  # events flow again after the recovery
        lost = self.lost_states(peer)
        self.rows.append(
            {
                "drill": name,
                "user sees": f"{seen['connection_state']}: {(seen['last_error'] or '')[:60]}" if seen else "connected",
                "shown after": f"{detected:.1f} s" if detected is not None else "not shown",
                "call meanwhile": call,
                "fix took": f"{healed - healing:.1f} s",
                "reconnected after fix": f"{recovered:.1f} s",
                "final states lost": len(lost),
            }
        )
        print(json.dumps(self.rows[-1]), flush=True)

    def timed_call(self, peer):
        started = time.monotonic()
        answer = self.session.rpc(
            "/odoo_ha_addon/call_service",
            {
                "domain": "light",
                "service": "toggle",
                "target": {"entity_id": "light.bed_light"},
                "ha_instance_id": self.ids[peer.url],
            },
        )
        code = "ok" if answer["success"] else answer["error_code"]
        return f"{code} in {(time.monotonic() - started) * 1000:.0f} ms"

    # -- the drills -------------------------------------------------------------------------

    def sigterm_restart(self):
        peer = self.peers[1]
        self.drill("HA SIGTERM + restart", peer, peer.stop, peer.start)

    def sigkill(self):
        peer = self.peers[1]
        self.drill("HA SIGKILL + restart", peer, peer.kill, peer.start)

    def slow(self):
        """Home Assistant hangs (SIGSTOP): the heartbeat must notice it."""
        peer = self.peers[1]
        pid = peer.pid
        self.drill(
            "HA frozen (SIGSTOP until noticed)",
            peer,
            lambda: os.kill(pid, signal.SIGSTOP),
            lambda: os.kill(pid, signal.SIGCONT),
        )

    def token_revoked(self):
        """A token deleted in Home Assistant: auth_failed, until a manager sets a new one."""
        peer = self.peers[0]
        instance_id = self.ids[peer.url]
        token = peer.ws_call("auth/long_lived_access_token", client_name="odoo drill", lifespan=1)
        since = self.status(peer)["since"]
        self.session.call_kw("ha.instance", "write", [[instance_id], {"api_token": token}])
        self.wait(
            lambda: self.status(peer)["connected"] and self.status(peer)["since"] != since,
            RECOVER_TIMEOUT,
            "drill token in use",
        )

        def revoke():
            tokens = peer.ws_call("auth/refresh_tokens")
            for refresh in tokens:
                if refresh.get("client_name") == "odoo drill":
                    peer.ws_call("auth/delete_refresh_token", refresh_token_id=refresh["id"])

        def new_token():
            self.session.call_kw("ha.instance", "write", [[instance_id], {"api_token": peer.token}])

        self.drill("token revoked in HA", peer, revoke, new_token)

    def listener_connection_dropped(self):
        """PostgreSQL drops the supervisor's connection: its locks go with it."""
        peer = self.peers[0]

        def terminate():
            with psycopg2.connect(dbname=self.dbname) as conn, conn.cursor() as cr:
                cr.execute(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                    " WHERE l.locktype = 'advisory' AND d.datname = %s",
                    (self.dbname,),
                )
            conn.close()

        # A change while no owner exists must still reach the mirror.
        self.drill("PostgreSQL listener connection dropped", peer, terminate, lambda: self.toggle(peer))

    def owner_killed(self):
        """Prefork only: the realtime worker process is killed."""
        peer = self.peers[0]
        owners = self.server.ha_connections(peer.port)
        (owner,) = owners
        self.drill(
            "Odoo owner process killed (prefork)",
            peer,
            lambda: os.kill(owner, signal.SIGKILL),
            lambda: None,
            # Another process takes over before the dashboard could show a drop.
            expect_drop=False,
        )


THREADED = ["sigterm_restart", "sigkill", "slow", "token_revoked", "listener_connection_dropped"]
PREFORK = ["owner_killed"]


def run(prefork, only):
    names = [name for name in (PREFORK if prefork else THREADED) if not only or name in only]
    if not names:
        return []
    drills = Drills(prefork)
    print(f"[{drills.mode}] {load_average()}", flush=True)
    drills.start()
    try:
        for name in names:
            getattr(drills, name)()
    finally:
        drills.stop()
        for peer in drills.peers:
            if not peer.is_running():
                peer.start()
    return drills.rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="drill names: " + ", ".join(THREADED + PREFORK))
    args = parser.parse_args()
    rows = run(False, args.only) + run(True, args.only)
    print()
    print("\n".join(machine()))
    print(f"| {' | '.join(rows[0])} |" if rows else "no drill ran")
    if rows:
        print("|" + "---|" * len(rows[0]))
        for row in rows:
            print(f"| {' | '.join(str(value) for value in row.values())} |")


if __name__ == "__main__":
    main()
