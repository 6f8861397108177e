"""Where the supervisors run inside an Odoo server.

- Threaded server (``workers = 0``): a thread of the server process, started
  with the cron threads and stopped with the server.
- Prefork server (``workers >= 2``): a dedicated worker process, spawned and
  respawned by the master like the cron workers, so recycling an HTTP worker
  never drops a Home Assistant connection. HTTP, cron and gevent workers
  never own connections.

It is installed by the addon's ``post_load`` hook, which runs at server
start when the addon is in ``server_wide_modules`` (recommended), or when
the registry of a database given with ``-d`` is preloaded.
"""

import logging
import os
import select
import threading

import psycopg2

import odoo
from odoo.service import server as odoo_server
from odoo.sql_db import connection_info_for
from odoo.tools import config

from .supervisor import DatabaseSupervisor

_logger = logging.getLogger(__name__)

DATABASE_SCAN_INTERVAL = 30.0


def realtime_enabled():
    """``odoo_ha_realtime = False`` in the configuration file turns it off."""
    value = str(config.get("odoo_ha_realtime", True)).strip().lower()
    return value not in ("0", "false", "no", "off") and not config["stop_after_init"]


class Runner:
    """Supervisors of every database of this server that has the addon."""

    def __init__(self):
        self.supervisors = {}
        self._stopping = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, name="ha-runner", daemon=True)
        self._thread.start()
        _logger.info("Home Assistant realtime runner started (pid %s)", os.getpid())
        return self

    def stop(self, timeout=10.0):
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for supervisor in self.supervisors.values():
            supervisor.stop()
        self.supervisors.clear()
        _logger.info("Home Assistant realtime runner stopped (pid %s)", os.getpid())

    @property
    def alive(self):
        return self._thread is not None and self._thread.is_alive()

    def _run(self):
        while not self._stopping.is_set():
            try:
                self._follow_databases()
            except Exception:
                _logger.exception("Home Assistant realtime runner: database scan failed")
            self._stopping.wait(DATABASE_SCAN_INTERVAL)

    def _follow_databases(self):
        wanted = set(self._databases())
        for dbname in set(self.supervisors) - wanted:
            self.supervisors.pop(dbname).stop()
        for dbname in sorted(wanted - set(self.supervisors)):
            self.supervisors[dbname] = DatabaseSupervisor(dbname).start()

    @staticmethod
    def _databases():
        if config["db_name"]:
            names = [name.strip() for name in config["db_name"].split(",") if name.strip()]
        else:
            names = odoo.http.db_filter(odoo.service.db.list_dbs(True), host="")
        return [name for name in names if _addon_installed(name)]


def _addon_installed(dbname):
    _dbname, params = connection_info_for(dbname)
    try:
        conn = psycopg2.connect(**params)
    except psycopg2.Error:
        return False
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT state FROM ir_module_module WHERE name = 'odoo_ha_addon'")
            row = cr.fetchone()
    except psycopg2.Error:
        return False
    finally:
        conn.close()
    return bool(row) and row[0] in ("installed", "to upgrade")


class RealtimeWorker(odoo_server.Worker):
    """The prefork worker that runs the :class:`Runner`; it serves no HTTP."""

    def __init__(self, multi):
        super().__init__(multi)
        self.runner = None

    def start(self):
        super().start()
        if self.multi.socket:
            self.multi.socket.close()
        self.setproctitle("home assistant")
        self.runner = Runner().start()

    def sleep(self):
        # Woken by signals through the wakeup pipe; the master's watchdog is
        # fed at every loop turn.
        try:
            select.select([self.wakeup_fd_r], [], [], self.multi.beat)
            odoo_server.empty_pipe(self.wakeup_fd_r)
        except InterruptedError:
            pass

    def process_work(self):
        if not self.runner.alive:
            self.alive = False

    def stop(self):
        self.runner.stop()


_installed = False
_thread_runner = None


def install():
    """Hook the runner into the server classes, once per process."""
    global _installed
    if _installed or not realtime_enabled():
        return
    _installed = True
    _patch_threaded_server()
    _patch_prefork_server()
    current = odoo_server.server
    # Registry preloaded after the server started its threads (no
    # server_wide_modules): start now, in the serving process only.
    if isinstance(current, odoo_server.ThreadedServer) and getattr(current, "httpd", None):
        _start_thread_runner()


def _start_thread_runner():
    global _thread_runner
    if _thread_runner is None:
        _thread_runner = Runner().start()
        odoo_server.CommonServer.on_stop(_thread_runner.stop)


def _patch_threaded_server():
    cron_spawn = odoo_server.ThreadedServer.cron_spawn

    def cron_spawn_with_runner(self):
        cron_spawn(self)
        _start_thread_runner()

    odoo_server.ThreadedServer.cron_spawn = cron_spawn_with_runner


def _patch_prefork_server():
    process_spawn = odoo_server.PreforkServer.process_spawn

    def process_spawn_with_runner(self):
        process_spawn(self)
        workers = self.__dict__.setdefault("ha_workers", {})
        for pid in [pid for pid in workers if pid not in self.workers]:
            del workers[pid]
        if not workers:
            self.worker_spawn(RealtimeWorker, workers)

    odoo_server.PreforkServer.process_spawn = process_spawn_with_runner
