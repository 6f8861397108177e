"""The one-shot connection test behind Odoo's "Test connection" button."""

import pytest

from .. import HAAuthInvalid, HANotHomeAssistant, HAProbeTimeout, HAUnreachable, probe
from .helpers import free_port, silent_server, web_server

pytest_plugins = [f"{__package__}.fixtures"]  # not a conftest.py: fixtures.py says why


def test_probe_reports_version_and_location(peer):
    config = peer.ws_call("get_config")
    info = probe(peer.url, peer.token, timeout=10)
    assert info["ha_version"] == config["version"]
    assert info["location_name"] == config["location_name"]
    assert info["time_zone"] == config["time_zone"]


def test_bad_token(peer):
    with pytest.raises(HAAuthInvalid) as caught:
        probe(peer.url, "not-a-valid-token", timeout=10)
    assert (caught.value.code, caught.value.public_code) == ("auth_invalid", "ha_error")
    assert "not-a-valid-token" not in str(caught.value)


def test_nothing_listening():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(HAUnreachable) as caught:
        probe(url, "token", timeout=5)
    assert (caught.value.code, caught.value.public_code) == ("unreachable", "ha_unavailable")
    assert url in caught.value.message


def test_unknown_host():
    # .invalid never resolves (RFC 2606).
    with pytest.raises(HAUnreachable):
        probe("http://ha-client-test.invalid:8123", "token", timeout=5)


def test_web_server_that_is_not_home_assistant():
    # A real web server (http.server) that is not Home Assistant: it answers 404.
    with web_server() as url, pytest.raises(HANotHomeAssistant) as caught:
        probe(url, "token", timeout=5)
    assert caught.value.code == "not_home_assistant"
    assert "HTTP 404" in caught.value.detail


def test_https_against_plain_http_peer(peer):
    # TLS to a port that speaks plain HTTP: the handshake fails, nothing is HA-specific.
    with pytest.raises(HAUnreachable, match="TLS"):
        probe(peer.url.replace("http://", "https://"), peer.token, timeout=5)


def test_silent_server_times_out():
    with silent_server() as url, pytest.raises(HAProbeTimeout) as caught:
        probe(url, "token", timeout=1)
    assert (caught.value.code, caught.value.public_code) == ("timeout", "timeout")


def test_bad_url_is_rejected_before_connecting():
    with pytest.raises(ValueError):
        probe("ftp://127.0.0.1", "token")
