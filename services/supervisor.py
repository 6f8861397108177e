"""One realtime owner per (database, instance), whatever the number of processes.

Every process that may own connections runs a :class:`DatabaseSupervisor`
per database. Ownership of an instance is a PostgreSQL session advisory
lock taken on the supervisor's own connection: exactly one session holds it,
and PostgreSQL releases it the moment the owning process or its connection
dies, so another supervisor takes over at its next refresh. The same
connection LISTENs for control messages (restart, refresh) sent by the
models at commit time.
"""

import json
import logging
import os
import select
import threading
import zlib

import psycopg2

from odoo.modules.registry import Registry
from odoo.sql_db import connection_info_for

from .owner import InstanceOwner

_logger = logging.getLogger(__name__)

CONTROL_CHANNEL = "odoo_ha_addon_control"
# First key of the two-key advisory locks: the second is the instance id.
LOCK_NAMESPACE = zlib.crc32(b"odoo_ha_addon") - 2**31
REFRESH_INTERVAL = 5.0


class DatabaseSupervisor:
    def __init__(self, dbname, refresh_interval=REFRESH_INTERVAL):
        self.dbname = dbname
        self.refresh_interval = refresh_interval
        self.owners = {}
        self._credentials = {}
        self._conn = None
        self._stopping = threading.Event()
        # Written by stop() to wake the loop out of its select().
        self._wakeup_r, self._wakeup_w = os.pipe()
        self._thread = None

    def __repr__(self):
        return f"<DatabaseSupervisor {self.dbname} owns {sorted(self.owners)}>"

    def start(self):
        self._thread = threading.Thread(target=self._run, name=f"ha-supervisor {self.dbname}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout=10.0):
        if self._stopping.is_set():
            return
        self._stopping.set()
        os.write(self._wakeup_w, b".")
        if self._thread is not None:
            self._thread.join(timeout)
        self._release_all()
        os.close(self._wakeup_r)
        os.close(self._wakeup_w)

    # -- loop --------------------------------------------------------------

    def _run(self):
        failures = 0
        while not self._stopping.is_set():
            try:
                self._ensure_connection()
                self.refresh()
                self._wait_for_control(self.refresh_interval)
                failures = 0
            except Exception as error:
                # Without its connection the supervisor no longer holds its
                # locks: another process may own the instances now.
                failures += 1
                log = _logger.warning if failures == 1 else _logger.debug
                log("Home Assistant supervisor of %s: %s; retrying", self.dbname, error)
                self._release_all()
                self._stopping.wait(min(30.0, failures * 2.0))

    def _ensure_connection(self):
        if self._conn is not None and not self._conn.closed:
            return
        _dbname, params = connection_info_for(self.dbname)
        self._conn = psycopg2.connect(**params)
        self._conn.autocommit = True
        with self._conn.cursor() as cr:
            cr.execute(f"LISTEN {CONTROL_CHANNEL}")

    def refresh(self):
        """Follow the instances' configuration; take the locks that are free."""
        wanted = self._read_instances()
        for instance_id in list(self.owners):
            if instance_id not in wanted:
                self._release(instance_id)
        for instance_id, credentials in wanted.items():
            owner = self.owners.get(instance_id)
            if owner is not None:
                if credentials != self._credentials[instance_id]:
                    self._credentials[instance_id] = credentials
                    owner.update(*credentials)
            elif self._try_lock(instance_id):
                _logger.info(
                    "Home Assistant instance %s/%s: this process owns its connection", self.dbname, instance_id
                )
                self._credentials[instance_id] = credentials
                self.owners[instance_id] = InstanceOwner(self.dbname, instance_id, *credentials).start()

    def _read_instances(self):
        # Through the registry's cursor, which tests share with their
        # transaction, so a test sees the supervisor follow its records.
        with Registry(self.dbname).cursor() as cr:
            cr.execute(
                "SELECT id, api_url, api_token FROM ha_instance"
                " WHERE active AND api_token IS NOT NULL AND api_token != ''"
            )
            return {row[0]: (row[1], row[2]) for row in cr.fetchall()}

    def _try_lock(self, instance_id):
        with self._conn.cursor() as cr:
            cr.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_NAMESPACE, instance_id))
            return cr.fetchone()[0]

    def _release(self, instance_id):
        owner = self.owners.pop(instance_id)
        self._credentials.pop(instance_id, None)
        owner.stop()
        if self._conn is not None and not self._conn.closed:
            with self._conn.cursor() as cr:
                cr.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_NAMESPACE, instance_id))

    def _release_all(self):
        for owner in self.owners.values():
            owner.stop()
        self.owners.clear()
        self._credentials.clear()
        if self._conn is not None:
            # Closing the session releases every lock it holds.
            self._conn.close()
            self._conn = None

    def _wait_for_control(self, timeout):
        ready = select.select([self._conn, self._wakeup_r], [], [], timeout)[0]
        if self._conn in ready:
            self._conn.poll()
            while self._conn.notifies:
                self.handle_control(self._conn.notifies.pop(0).payload)

    def handle_control(self, payload):
        """Apply one control message: ``{"db", "instance_id", "action", "force"}``."""
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if message.get("db") != self.dbname:
            return
        owner = self.owners.get(message.get("instance_id"))
        if message.get("action") == "restart" and owner is not None:
            if message.get("force") or not owner.client.connected:
                owner.restart()
        elif message.get("action") == "sync" and owner is not None:
            owner.request_sync()
        elif message.get("action") == "refresh":
            self.refresh()
