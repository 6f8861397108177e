"""The small REST helper, for what the WebSocket API lacks."""

import uuid

import pytest

from .. import HAAuthInvalid, HACommandError, HARest, HAUnreachable
from .helpers import free_port

pytest_plugins = [f"{__package__}.fixtures"]  # not a conftest.py: fixtures.py says why


def test_api_status(peer):
    assert HARest(peer.url, peer.token).api_status() == {"message": "API running."}


def test_set_state_creates_an_entity(peer, client):
    rest = HARest(peer.url, peer.token)
    entity_id = f"sensor.ha_client_test_{uuid.uuid4().hex[:8]}"
    try:
        created = rest.set_state(entity_id, "42", {"unit_of_measurement": "W"})
        assert (created["entity_id"], created["state"]) == (entity_id, "42")
        states = {state["entity_id"]: state for state in client.call("get_states")}
        assert states[entity_id]["attributes"]["unit_of_measurement"] == "W"
    finally:
        rest.delete_state(entity_id)
    with pytest.raises(HACommandError) as caught:
        rest.request("GET", f"/api/states/{entity_id}")
    assert caught.value.ha_code == "http_404"


def test_errors(peer):
    with pytest.raises(HAAuthInvalid):
        HARest(peer.url, "not-a-valid-token").api_status()
    with pytest.raises(HAUnreachable):
        HARest(f"http://127.0.0.1:{free_port()}", "token", timeout=5).api_status()
