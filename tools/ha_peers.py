#!/usr/bin/env python3
"""Install and run real Home Assistant demo peers on loopback for odoo_ha_addon.

    python3 tools/ha_peers.py up|down|status [--profile demo|test|drill|bench]

Tests load this file by path (importlib) and use ensure_up(), load_peers() and
Peer. Only the standard library and websocket-client are used, so it runs
from the Odoo interpreter while Home Assistant lives in its own Python 3.13
venv.
"""

import argparse
import contextlib
import dataclasses
import fcntl
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import websocket

HA_VERSION = "2025.4.4"
FRONTEND_VERSION = "20250411.0"
READY_TIMEOUT = 180
REGISTRY_SAVE_DELAY = 12  # HA's registry save delay while running (10 s) plus margin
PY313_PROBE = "import sys; assert sys.version_info[:2] == (3, 13)"
INSTALLED_PROBE = PY313_PROBE + (
    "; import importlib.metadata as m; print(m.version('homeassistant'), m.version('home-assistant-frontend'))"
)
CLIENT_NAME = "odoo_ha_addon"
CREDENTIALS_FILE = ".odoo_ha_credentials.json"
PID_FILE = "hass.pid"
CONSOLE_LOG = "hass.console.log"
# Areas the onboarding user step creates for language "en" on every instance.
ONBOARDING_AREAS = ("Living Room", "Kitchen", "Bedroom")

ALPHA = {
    "latitude": 52.3676,
    "longitude": 4.9041,
    "elevation": 2,
    "currency": "EUR",
    "country": "NL",
    "areas": {
        "Living Room": [
            "light.living_room_rgbww_lights",
            "light.ceiling_lights",
            "cover.living_room_window",
            "climate.hvac",
            "switch.decorative_lights",
        ],
        "Kitchen": [
            "light.kitchen_lights",
            "cover.kitchen_window",
            "sensor.carbon_monoxide",
            "sensor.power_consumption",
        ],
        "Bedroom": ["light.bed_light", "climate.heatpump", "cover.hall_window"],
    },
}
BETA = {
    "latitude": 47.3769,
    "longitude": 8.5417,
    "elevation": 408,
    "currency": "CHF",
    "country": "CH",
    "areas": {
        "Office": ["light.office_rgbw_lights", "climate.ecobee", "switch.ac", "sensor.carbon_dioxide"],
        "Garage": [
            "cover.garage_door",
            "binary_sensor.basement_floor_wet",
            "sensor.total_energy_kwh",
            "sensor.total_gas_m3",
        ],
        "Garden": [
            "cover.pergola_roof",
            "light.entrance_color_white_lights",
            "binary_sensor.movement_backyard",
            "sensor.outside_temperature",
            "sensor.outside_humidity",
        ],
    },
}
PROFILES = {
    "demo": [("HA Alpha", 8123, ALPHA), ("HA Beta", 8124, BETA)],
    "test": [("HA Test Alpha", 18123, ALPHA), ("HA Test Beta", 18124, BETA)],
    # Fault drills stop, kill and freeze their peers: never the shared test ones.
    "drill": [("HA Drill Alpha", 18133, ALPHA), ("HA Drill Beta", 18134, BETA)],
    # Benchmarks add thousands of states: keep them off the shared test peers.
    "bench": [("HA Bench Alpha", 18143, ALPHA), ("HA Bench Beta", 18144, BETA)],
}

# Integrations are listed one by one because default_config pulls in
# bluetooth, zeroconf, cloud and friends, which reach the network and slow
# the start. No recorder: nothing here needs history.
CONFIG_TEMPLATE = """\
# Written by tools/ha_peers.py: local edits are overwritten by the next `up`.
homeassistant:
  name: {name}
  latitude: {latitude}
  longitude: {longitude}
  elevation: {elevation}
  time_zone: UTC
  unit_system: metric
  currency: {currency}
  country: {country}
http:
  server_host: 127.0.0.1
  server_port: {port}
demo:
api:
websocket_api:
config:
onboarding:
frontend:
system_health:
hardware:
network:
logger:
  default: warning
  logs:
    # The demo camera and TTS probe for libturbojpeg and the ffmpeg binary,
    # log ERROR when the host lacks them, and work fine without them.
    homeassistant.components.camera.img_util: critical
    haffmpeg: critical
"""

# Loopback only: never let a proxy from the environment see our traffic.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Popen handles of peers started by this process, kept so exits get reaped.
_CHILDREN: dict[int, subprocess.Popen] = {}


class PeerError(RuntimeError):
    pass


def base_dir() -> Path:
    return Path(os.environ.get("ODOO_HA_CACHE") or Path.home() / ".cache" / "odoo_ha_addon")


def venv_dir() -> Path:
    return base_dir() / f"ha-venv-{HA_VERSION}"


def state_path(profile: str) -> Path:
    return base_dir() / "peers" / f"{profile}.json"


def _http(method, url, body=None, token=None, form=None, timeout=30):
    headers, data = {}, None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    with _OPENER.open(request, timeout=timeout) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


@contextlib.contextmanager
def _websocket(url: str, token: str):
    conn = websocket.create_connection(
        url.replace("http", "ws", 1) + "/api/websocket",
        timeout=30,
        skip_utf8_validation=True,
        http_no_proxy=["127.0.0.1"],
    )
    try:
        conn.recv()  # auth_required
        conn.send(json.dumps({"type": "auth", "access_token": token}))
        if json.loads(conn.recv()).get("type") != "auth_ok":
            raise PeerError(f"{url}: WebSocket authentication failed")
        ids = iter(range(1, 1_000_000))

        def call(msg_type, **payload):
            msg_id = next(ids)
            conn.send(json.dumps({**payload, "id": msg_id, "type": msg_type}))
            # Skip event messages of subscriptions a caller may have opened.
            for _ in range(10_000):
                msg = json.loads(conn.recv())
                if msg.get("id") == msg_id and msg.get("type") == "result":
                    if not msg["success"]:
                        raise PeerError(f"{url}: {msg_type} failed: {msg.get('error')}")
                    return msg["result"]
            raise PeerError(f"{url}: no result for {msg_type}")

        yield call
    finally:
        conn.close()


def _write_private(path: Path, data) -> None:
    """Write JSON readable by the owner only, atomically for concurrent readers."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), 0o600)
        json.dump(data, fh, indent=2)
    os.replace(tmp, path)


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@dataclasses.dataclass
class Peer:
    """One Home Assistant instance; its pid file in config_dir tells whether it runs."""

    name: str
    url: str
    port: int
    token: str = dataclasses.field(default="", repr=False)  # keep it out of test output
    config_dir: str = ""

    @property
    def pid(self) -> int | None:
        """The pid file is the single source of truth, so restarts by tests stay visible."""
        with contextlib.suppress(OSError, ValueError):
            return int(Path(self.config_dir, PID_FILE).read_text())
        return None

    def _alive(self) -> bool:
        pid = self.pid
        if not pid:
            return False
        if pid in _CHILDREN:
            # Our own child: poll() also reaps it. Its cmdline is unreliable
            # here, as it reads empty while the exec is still completing.
            if _CHILDREN[pid].poll() is None:
                return True
            del _CHILDREN[pid]
            return False
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        # A zombie has an empty cmdline; the config dir guards against pid reuse.
        return os.fsencode(self.config_dir) in cmdline

    def is_running(self) -> bool:
        return self._alive() and _port_open(self.port)

    def _spawn(self) -> None:
        if _port_open(self.port):
            raise PeerError(f"{self.name}: port {self.port} is already used by another process")
        with open(Path(self.config_dir, CONSOLE_LOG), "ab") as log:
            # --skip-pip: the venv already holds every requirement of this
            # config, and two peers must not pip-install into it concurrently.
            proc = subprocess.Popen(
                [str(venv_dir() / "bin" / "hass"), "-c", self.config_dir, "--skip-pip"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _CHILDREN[proc.pid] = proc
        Path(self.config_dir, PID_FILE).write_text(str(proc.pid))

    def start(self, timeout: float = READY_TIMEOUT) -> None:
        if not self._alive():
            self._spawn()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until HTTP answers; with a token, until HA reports RUNNING."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._alive():
                raise PeerError(f"{self.name} is not running, see {self.config_dir}/{CONSOLE_LOG}")
            try:
                if self.token:
                    if self.rest("GET", "/api/config")["state"] == "RUNNING":
                        return
                else:
                    # Unauthenticated probe, as a 401 would log a failed login.
                    # HTTP opens once frontend and onboarding are set up, so
                    # any answer, even "onboarding required", means ready.
                    _http("GET", self.url + "/auth/providers", timeout=5)
                    return
            except urllib.error.HTTPError as exc:
                if not self.token:
                    return
                if exc.code == 401:
                    raise PeerError(
                        f"{self.name} rejected its token (lost to a SIGKILL just "
                        "after it was made?): run ensure_up() again"
                    ) from None
            except (OSError, ValueError):
                pass
            time.sleep(1)
        raise PeerError(f"{self.name} not ready after {timeout:.0f} s, see {self.config_dir}/home-assistant.log")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> bool:
        """Signal the peer and wait for it to exit; SIGTERM lets HA flush its registries."""
        if self._alive():
            os.kill(self.pid, sig)
        deadline = time.monotonic() + timeout
        # The kernel closes the sockets of a dying process a moment after its
        # cmdline vanishes, so also wait for the port to be released.
        while self._alive() or _port_open(self.port):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
        Path(self.config_dir, PID_FILE).unlink(missing_ok=True)
        return True

    def kill(self) -> bool:
        return self.stop(signal.SIGKILL, timeout=10)

    def rest(self, method: str, path: str, json=None):
        return _http(method, self.url + path, body=json, token=self.token)

    def ws_call(self, msg_type: str, /, **payload):
        with _websocket(self.url, self.token) as call:
            return call(msg_type, **payload)


def _profile_peers(profile: str) -> list[tuple[Peer, dict]]:
    return [
        (Peer(name, f"http://127.0.0.1:{port}", port, "", str(base_dir() / "peers" / f"{profile}-{port}")), site)
        for name, port, site in PROFILES[profile]
    ]


def load_peers(profile: str) -> list[Peer]:
    try:
        rows = json.loads(state_path(profile).read_text())
    except FileNotFoundError:
        raise PeerError(f"no peers for profile {profile!r}: run `ha_peers.py up --profile {profile}`") from None
    return [Peer(row["name"], row["url"], row["port"], row["token"], row["config_dir"]) for row in rows]


def _run_python(python, code: str) -> str | None:
    """Output of `python -I -c code`, or None if that fails."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        # -I keeps the current directory off sys.path: HA's component packages
        # (select, datetime, ...) shadow stdlib modules when run from inside it.
        out = subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True, timeout=60)
        if out.returncode == 0:
            return out.stdout.strip()
    return None


def ensure_venv() -> Path:
    venv = venv_dir()
    python = venv / "bin" / "python"
    if _run_python(python, INSTALLED_PROBE) == f"{HA_VERSION} {FRONTEND_VERSION}":
        return venv
    candidates = [
        os.environ.get("HA_PYTHON"),
        shutil.which("python3.13"),
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")), reverse=True),
    ]
    # A pyenv shim exists even when its version is not installed, so run each one.
    interpreter = next((c for c in candidates if c and _run_python(c, PY313_PROBE) is not None), None)
    if interpreter is None:
        raise PeerError(
            "Python 3.13 is required for the Home Assistant peers: install it "
            "(for example `pyenv install 3.13`) and run again"
        )
    if shutil.which("uv"):
        uv = [shutil.which("uv")]
    elif subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True).returncode == 0:
        uv = [sys.executable, "-m", "uv"]
    else:
        raise PeerError("uv is required to install Home Assistant: pip install uv")
    print(f"Installing Home Assistant {HA_VERSION} into {venv} (about a minute)", file=sys.stderr)
    if _run_python(python, PY313_PROBE) is None:
        subprocess.run(
            [*uv, "venv", "--no-python-downloads", "--clear", "-p", interpreter, str(venv)],
            check=True,
            stdout=sys.stderr,
            timeout=300,
        )
    subprocess.run(
        [
            *uv,
            "pip",
            "install",
            "--no-python-downloads",
            "--python",
            str(python),
            f"homeassistant=={HA_VERSION}",
            f"home-assistant-frontend=={FRONTEND_VERSION}",
        ],
        check=True,
        stdout=sys.stderr,
        timeout=900,
    )
    if _run_python(python, INSTALLED_PROBE) != f"{HA_VERSION} {FRONTEND_VERSION}":
        raise PeerError(f"{venv} still lacks homeassistant=={HA_VERSION} after installing")
    return venv


def _write_config(peer: Peer, site: dict) -> bool:
    """Write configuration.yaml and the onboarding store; True if the config changed."""
    storage = Path(peer.config_dir, ".storage")
    storage.mkdir(parents=True, exist_ok=True)
    onboarding = storage / "onboarding"
    if not onboarding.exists():
        # Only the user step is left to the API: the core_config step starts
        # met, radio_browser and google_translate flows, which pip-install
        # packages at runtime and then fail without Internet access.
        _write_private(
            onboarding,
            {
                "version": 4,
                "minor_version": 1,
                "key": "onboarding",
                "data": {"done": ["core_config", "analytics", "integration"]},
            },
        )
    text = CONFIG_TEMPLATE.format(name=json.dumps(peer.name), port=peer.port, **site)
    config = Path(peer.config_dir, "configuration.yaml")
    if config.exists() and config.read_text() == text:
        return False
    config.write_text(text)
    return True


def _ensure_token(peer: Peer, stored_token: str) -> bool:
    """Give the peer a valid long-lived token (onboarding or logging in); True if newly minted."""
    client_id = peer.url + "/"
    creds_path = Path(peer.config_dir, CREDENTIALS_FILE)
    try:
        steps = _http("GET", peer.url + "/api/onboarding")
        user_done = any(s["step"] == "user" and s["done"] for s in steps)
    except urllib.error.HTTPError as exc:
        if exc.code != 404:  # HA drops the view once onboarding has completed
            raise
        user_done = True
    if not user_done:
        creds = {"username": "odoo", "password": secrets.token_urlsafe(24)}
        _write_private(creds_path, creds)  # before the POST, so a crash cannot lose it
        code = _http(
            "POST",
            peer.url + "/api/onboarding/users",
            {"client_id": client_id, "name": "Odoo", "language": "en", **creds},
        )["auth_code"]
    else:
        if stored_token:
            with contextlib.suppress(urllib.error.HTTPError):
                _http("GET", peer.url + "/api/", token=stored_token)
                peer.token = stored_token
                return False
        try:
            creds = json.loads(creds_path.read_text())
        except FileNotFoundError:
            raise PeerError(
                f"{peer.name} is onboarded but {creds_path} is missing: stop it and delete {peer.config_dir}"
            ) from None
        flow = _http(
            "POST",
            peer.url + "/auth/login_flow",
            {"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": client_id},
        )
        result = _http("POST", f"{peer.url}/auth/login_flow/{flow['flow_id']}", {"client_id": client_id, **creds})
        if result.get("type") != "create_entry":
            raise PeerError(f"{peer.name}: login with the stored credentials failed")
        code = result["result"]
    access = _http(
        "POST",
        peer.url + "/auth/token",
        form={"grant_type": "authorization_code", "code": code, "client_id": client_id},
    )
    with _websocket(peer.url, access["access_token"]) as call:
        # HA allows one long-lived token per client name; drop the lost one.
        for token in call("auth/refresh_tokens"):
            if token["client_name"] == CLIENT_NAME and token["type"] == "long_lived_access_token":
                call("auth/delete_refresh_token", refresh_token_id=token["id"])
        peer.token = call("auth/long_lived_access_token", client_name=CLIENT_NAME, lifespan=3650)
    return True


def _seed_areas(peer: Peer, areas: dict[str, list[str]]) -> bool:
    """Give the peer exactly its own areas with entities in each; True if anything changed."""
    changed = False
    with _websocket(peer.url, peer.token) as call:
        existing = {a["name"]: a["area_id"] for a in call("config/area_registry/list")}
        for name in ONBOARDING_AREAS:
            # Tests tell the peers apart by their areas, so the defaults go.
            if name in existing and name not in areas:
                call("config/area_registry/delete", area_id=existing.pop(name))
                changed = True
        registry = {e["entity_id"]: e["area_id"] for e in call("config/entity_registry/list")}
        for name, entity_ids in areas.items():
            if name not in existing:
                existing[name] = call("config/area_registry/create", name=name)["area_id"]
                changed = True
            for entity_id in entity_ids:
                if entity_id not in registry:
                    raise PeerError(f"{peer.name}: demo entity {entity_id} is missing")
                if registry[entity_id] != existing[name]:
                    call("config/entity_registry/update", entity_id=entity_id, area_id=existing[name])
                    changed = True
    return changed


def _report_log_errors(peer: Peer) -> None:
    log = Path(peer.config_dir, "home-assistant.log")
    with contextlib.suppress(OSError):
        count = sum(" ERROR " in line or " CRITICAL " in line for line in log.open(errors="replace"))
        if count:
            print(f"{peer.name}: {count} error lines in {log}", file=sys.stderr)


@contextlib.contextmanager
def _locked(timeout: float = 900):
    base_dir().mkdir(parents=True, exist_ok=True)
    with open(base_dir() / ".lock", "w") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PeerError(f"another ha_peers.py kept {fh.name} locked for {timeout:.0f} s") from None
                time.sleep(1)
        yield  # closing the file releases the lock


def ensure_up(profile: str = "test", verbose: bool = False) -> list[Peer]:
    """Install, start, onboard and seed the profile's peers; reuse what already runs."""
    with _locked():
        ensure_venv()
        stored = {}
        with contextlib.suppress(PeerError):
            stored = {p.port: p.token for p in load_peers(profile)}
        plans, last_write = [], None
        # Start every peer before waiting for any, so they boot in parallel.
        for peer, site in _profile_peers(profile):
            began = time.monotonic()
            changed = _write_config(peer, site)
            was_alive = peer._alive()
            if changed and was_alive and not peer.stop():
                raise PeerError(f"{peer.name} did not stop to apply its new configuration")
            if peer._alive():
                outcome = "reused"
            else:
                peer._spawn()
                outcome = "restarted" if was_alive else "started"
            plans.append((peer, site, outcome, began))
        for peer, site, outcome, began in plans:
            peer.wait_ready()
            minted = _ensure_token(peer, stored.get(peer.port, ""))
            peer.wait_ready()  # now authenticated: waits for RUNNING, so demo entities exist
            if _seed_areas(peer, site["areas"]) or minted:
                last_write = time.monotonic()
            _report_log_errors(peer)
            if verbose:
                print(
                    f"{peer.name}  {peer.url}  pid {peer.pid}  {outcome}  {time.monotonic() - began:.1f} s", flush=True
                )
        peers = [plan[0] for plan in plans]
        state_path(profile).parent.mkdir(parents=True, exist_ok=True)
        _write_private(
            state_path(profile),
            [
                {
                    "name": p.name,
                    "url": p.url,
                    "port": p.port,
                    "token": p.token,
                    "config_dir": p.config_dir,
                    "pid": p.pid,
                }
                for p in peers
            ],
        )
        if last_write is not None:
            # HA saves registries 10 s after the last change; wait that out so a
            # crash test that SIGKILLs a peer right away keeps token and areas.
            pause = max(0.0, last_write + REGISTRY_SAVE_DELAY - time.monotonic())
            if verbose:
                print(f"Waiting {pause:.0f} s for Home Assistant to save its registries", file=sys.stderr)
            time.sleep(pause)
    return peers


def _down(profile: str) -> int:
    failed = 0
    with _locked():
        for peer, _site in _profile_peers(profile):
            if not peer._alive():
                print(f"{peer.name}  {peer.url}  not running")
                continue
            began, pid = time.monotonic(), peer.pid
            stopped = peer.stop()
            failed += not stopped
            print(
                f"{peer.name}  {peer.url}  pid {pid}  "
                f"{'stopped' if stopped else 'STILL RUNNING'}  {time.monotonic() - began:.1f} s"
            )
    return 1 if failed else 0


def _status(profile: str) -> int:
    tokens = {}
    with contextlib.suppress(PeerError):
        tokens = {p.port: p.token for p in load_peers(profile)}
    down = 0
    for peer, _site in _profile_peers(profile):
        peer.token = tokens.get(peer.port, "")
        if not peer.is_running():
            down += 1
            print(f"{peer.name}  {peer.url}  not running")
            continue
        try:
            version = f"Home Assistant {peer.rest('GET', '/api/config')['version']}"
        except (OSError, ValueError, KeyError):
            version = "version unknown (no valid token in the state file)"
        print(f"{peer.name}  {peer.url}  pid {peer.pid}  running  {version}")
    return 1 if down else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="demo")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            ensure_up(args.profile, verbose=True)
            print(state_path(args.profile))
            return 0
        return _down(args.profile) if args.command == "down" else _status(args.profile)
    except PeerError as exc:
        print(f"ha_peers: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
