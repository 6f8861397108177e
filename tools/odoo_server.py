"""Run a whole Odoo server with the addon as a separate process.

Used by the system tests and the benchmarks: a database of its own with the
addon installed and the Home Assistant peers registered, then a server in
threaded or prefork mode.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg2

ADDON_ROOT = Path(__file__).resolve().parents[1]
# The console script, not ``python -m odoo``: the prefork master starts its
# gevent worker as ``sys.executable sys.argv[0] gevent``.
ODOO_BIN = next(
    (
        str(path)
        for path in (Path(sys.executable).with_name("odoo"), shutil.which("odoo-bin"))
        if path and Path(path).is_file()
    ),
    "odoo",
)


def harness():
    """The peers harness, tools/ha_peers.py."""
    spec = importlib.util.spec_from_file_location("odoo_ha_addon_peers", ADDON_ROOT / "tools" / "ha_peers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OdooServer:
    """An Odoo server process on a database of its own, with the peers registered."""

    def __init__(self, conf, dbname, peers_file, extra_args, log_path):
        self.conf = conf
        self.dbname = dbname
        self.peers_file = peers_file
        self.extra_args = extra_args
        self.log_path = log_path
        self.http_port = free_port()
        self.process = None

    def odoo(self, *args, command=(), **kwargs):
        return subprocess.run(
            [ODOO_BIN, *command, "-c", self.conf, "-d", self.dbname, *args],
            check=True,
            capture_output=True,
            timeout=300,
            **kwargs,
        )

    def create_database(self):
        subprocess.run(["dropdb", "--if-exists", self.dbname], check=True, capture_output=True)
        self.odoo("-i", "odoo_ha_addon", "--without-demo=all", "--stop-after-init", "--no-http")
        with open(ADDON_ROOT / "tools" / "register_peers.py", "rb") as script:
            self.odoo(
                "--no-http", command=["shell"], stdin=script, env={**os.environ, "HA_PEERS": str(self.peers_file)}
            )

    def start(self):
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                ODOO_BIN,
                "-c",
                self.conf,
                "-d",
                self.dbname,
                f"--db-filter=^{self.dbname}$",
                f"--http-port={self.http_port}",
                "--load=base,web,odoo_ha_addon",
                *self.extra_args,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.started = time.monotonic()

    def stop(self, timeout=60):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()

    def pids(self):
        master = psutil.Process(self.process.pid)
        return {master.pid} | {child.pid for child in master.children(recursive=True)}

    def ha_connections(self, port):
        """``{pid: count}`` of this server's TCP connections to a Home Assistant port."""
        found = {}
        for pid in self.pids():
            try:
                connections = psutil.Process(pid).connections(kind="tcp")
            except psutil.NoSuchProcess:
                continue
            count = sum(1 for c in connections if c.raddr and c.raddr.port == port and c.status == "ESTABLISHED")
            if count:
                found[pid] = count
        return found

    def query(self, sql, params=()):
        with psycopg2.connect(dbname=self.dbname) as conn, conn.cursor() as cr:
            cr.execute(sql, params)
            rows = cr.fetchall()
        conn.close()
        return rows


def wait_for(predicate, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"{message} within {timeout} s")
