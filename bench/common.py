"""Shared pieces of the benchmarks: servers, JSON-RPC sessions, statistics.

The benchmarks run as scripts (``python3 bench/routes.py``), so this module
is imported by its plain name from the script's directory.
"""

import datetime
import importlib.util
import math
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import requests

ADDON_ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("ODOO_HA_CACHE") or Path.home() / ".cache" / "odoo_ha_addon")
BENCH_DIR = CACHE / "bench"


def load_tool(name):
    """A module of tools/ loaded by path: tools/ is not a package of the addon."""
    spec = importlib.util.spec_from_file_location(f"odoo_ha_addon_{name}", ADDON_ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


odoo_server = load_tool("odoo_server")
OdooServer = odoo_server.OdooServer
free_port = odoo_server.free_port


def write_conf(dbname):
    """An Odoo configuration file for ``dbname``, written exactly as scripts/test.sh does."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    conf = BENCH_DIR / f"{dbname}.conf"
    subprocess.run(
        ["bash", "-c", 'source "$0/scripts/lib.sh"; link_addon; write_odoo_conf "$1" "$2"', ADDON_ROOT, conf, dbname],
        check=True,
    )
    return conf


# -- statistics ------------------------------------------------------------------


def percentile(values, fraction):
    """Nearest-rank percentile: an observed value, no interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summary_ms(seconds):
    """``(median, p95)`` in milliseconds."""
    return statistics.median(seconds) * 1000, percentile(seconds, 0.95) * 1000


# -- JSON-RPC --------------------------------------------------------------------


class RpcError(Exception):
    """Odoo answered with a JSON-RPC error (a traceback), not an envelope."""


class Session:
    """A logged-in browser-like session on one server."""

    def __init__(self, base_url, dbname, login="admin", password="admin", timeout=30):
        self.base_url = base_url
        self.timeout = timeout
        self.http = requests.Session()
        self._id = 0
        self.rpc("/web/session/authenticate", {"db": dbname, "login": login, "password": password})

    def rpc(self, path, params=None):
        """The JSON-RPC ``result``; raises :class:`RpcError` on a JSON-RPC error."""
        self._id += 1
        response = self.http.post(
            self.base_url + path,
            json={"jsonrpc": "2.0", "method": "call", "params": params or {}, "id": self._id},
            timeout=self.timeout,
        )
        response.raise_for_status()
        body = response.json()
        if "error" in body:
            error = body["error"]
            raise RpcError(f"{path}: {error.get('data', {}).get('name')}: {error.get('message')}")
        return body["result"]

    def timed(self, path, params=None):
        """``(seconds, result)``; ``result`` is the exception when the call failed."""
        start = time.perf_counter()
        try:
            result = self.rpc(path, params)
        except (requests.RequestException, RpcError, ValueError) as error:
            result = error
        return time.perf_counter() - start, result

    def keep_alive(self, path):
        """Whether the server keeps the connection open after a JSON call:
        Odoo's threaded server does (HTTP/1.1), a prefork worker does not."""
        response = self.http.post(
            self.base_url + path, json={"jsonrpc": "2.0", "method": "call", "params": {}}, timeout=self.timeout
        )
        return response.raw.version == 11 and response.headers.get("Connection", "").lower() != "close"

    def call_kw(self, model, method, args, kwargs=None):
        return self.rpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )

    def close(self):
        self.http.close()


def wait_http(base_url, timeout=60):
    """Wait until the server answers its trivial JSON route; bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = requests.post(
                base_url + "/web/webclient/version_info",
                json={"jsonrpc": "2.0", "method": "call", "params": {}},
                timeout=5,
            )
            if response.ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{base_url} did not answer within {timeout} s")


# -- context -----------------------------------------------------------------------


def machine():
    """One line per fact about where the figures were taken."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
    except OSError:
        pass
    try:
        import odoo.release

        odoo_version = odoo.release.version
    except ImportError:
        odoo_version = "not importable"
    return [
        f"date:    {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"machine: {os.cpu_count()} cores, {model}",
        f"python:  {platform.python_version()}, Odoo {odoo_version}",
    ]


def load_average():
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
