"""HAClient against a real Home Assistant peer (the first one, left running)."""

import datetime
import logging
import threading
import time

import pytest

from .. import HAClient, HACommandError, HATimeout, HAUnavailable, State, service_message
from .helpers import Recorder, changed, free_port, wait_until, web_server

pytest_plugins = [f"{__package__}.fixtures"]  # not a conftest.py: fixtures.py says why

LIGHT = "light.bed_light"


def test_handshake_and_state(make_client, peer):
    states = Recorder()
    client = make_client(peer.url, peer.token, on_state=states)
    assert client.wait_connected(30), client.last_error
    assert client.state == State.CONNECTED and client.connected
    assert client.ha_version == peer.ws_call("get_config")["version"]
    assert client.last_error is None
    assert abs(client.since - datetime.datetime.now(datetime.timezone.utc)).total_seconds() < 60
    assert [status.state for status in states.items] == ["connecting", "connected"]
    assert peer.token not in repr(client)
    client.close()
    assert client.state == State.CLOSED
    with pytest.raises(HAUnavailable, match="closed"):
        client.call("ping")


def test_bad_token_fails_for_good_until_credentials_change(make_client, peer, caplog):
    caplog.set_level(logging.DEBUG)
    # A short backoff: any retry would show within the second waited below.
    client = make_client(peer.url, "not-a-valid-token", backoff_first=0.05, backoff_max=0.1)
    assert not client.wait_connected(30)
    assert client.state == State.AUTH_FAILED
    attempts = client.stats["connect_attempts"]
    time.sleep(1)
    assert client.stats["connect_attempts"] == attempts == 1
    assert client.state == State.AUTH_FAILED
    assert "rejected the access token" in client.last_error
    assert not client.update_credentials(peer.url, "not-a-valid-token")
    assert client.update_credentials(peer.url + "/", peer.token)
    assert client.wait_connected(30), client.last_error
    assert "not-a-valid-token" not in caplog.text and peer.token not in caplog.text


def test_unreachable_retries_soon_and_calls_fail_at_once(make_client):
    states = Recorder()
    client = make_client(f"http://127.0.0.1:{free_port()}", "token", on_state=lambda s: states((s, time.monotonic())))
    assert wait_until(lambda: len(states.matching(lambda item: item[0].state == "connecting")) >= 2, 10)
    (first_failure, failed_at), (retry, retried_at) = states.items[1:3]
    assert (first_failure.state, retry.state) == ("disconnected", "connecting")
    assert retried_at - failed_at <= 1.0 + 1.0  # first retry within 1 s, plus a margin
    assert "refused" in first_failure.last_error.lower()
    started = time.monotonic()
    with pytest.raises(HAUnavailable):
        client.call("ping", timeout=30)
    assert client.call_many([{"type": "ping"}] * 2, timeout=30)[1].code == "ha_unavailable"
    with pytest.raises(HAUnavailable):
        client.subscribe_events(print, timeout=30)
    assert time.monotonic() - started < 5  # nothing waited for the 30 s timeout


def test_wait_for_the_first_attempt_only(make_client, peer):
    client = make_client(f"http://127.0.0.1:{free_port()}", "token")
    started = time.monotonic()
    assert client.wait_connected(30, first_attempt=True) is False
    assert time.monotonic() - started < 10  # returned at the refusal, not after 30 s of retries
    assert client.state in ("disconnected", "connecting")
    live = make_client(peer.url, peer.token)
    assert live.wait_connected(30, first_attempt=True) is True


def test_web_server_is_an_error_state(make_client):
    # A real web server (http.server) that is not Home Assistant.
    with web_server() as url:
        client = make_client(url, "token")
        assert wait_until(lambda: client.state == State.ERROR, 10)
    assert "HTTP 404" in client.last_error


def test_subscription_receives_state_changed_until_unsubscribed(client):
    events, control = Recorder(), Recorder()
    sub = client.subscribe_events(events, "state_changed")
    client.subscribe_events(control, "state_changed")
    client.call_service("light", "toggle", target={"entity_id": LIGHT})
    assert wait_until(lambda: events.matching(changed(LIGHT)), 10)
    sub.unsubscribe()
    assert not sub.active
    received = len(events.matching(changed(LIGHT)))
    client.call_service("light", "toggle", target={"entity_id": LIGHT})
    # The control subscription sees the second toggle; the cancelled one must not.
    assert wait_until(lambda: len(control.matching(changed(LIGHT))) >= 2, 10)
    assert len(events.matching(changed(LIGHT))) == received


def test_generic_subscription_subscribe_entities(client):
    events = Recorder()
    client.subscribe({"type": "subscribe_entities", "entity_ids": [LIGHT]}, events)
    assert wait_until(lambda: events.items, 10)
    assert LIGHT in events.items[0]["a"]


def test_streaming_command(client):
    events = Recorder()
    sub = client.subscribe({"type": "system_health/info"}, events, resubscribe=False)
    assert wait_until(lambda: events.matching(lambda event: event["type"] == "finish"), 30)
    assert events.items[0]["type"] == "initial"
    sub.unsubscribe()


def test_unsubscribe_from_the_callback(client):
    events, control, holder = Recorder(), Recorder(), {}

    def once(event):
        if changed(LIGHT)(event):
            events(event)
            holder["sub"].unsubscribe()  # on the reader thread: must not block

    holder["sub"] = client.subscribe_events(once, "state_changed")
    client.subscribe_events(control, "state_changed")
    for _ in range(2):
        client.call_service("light", "toggle", target={"entity_id": LIGHT})
    assert wait_until(lambda: len(control.matching(changed(LIGHT))) >= 2, 10)
    assert len(events.matching(changed(LIGHT))) == 1
    assert client.call("ping") is None


def test_callbacks_cannot_break_the_reader(client):
    errors = Recorder()

    def callback(event):
        try:
            client.call("ping")
        except RuntimeError as err:  # waiting on the reader thread would deadlock
            errors(err)
        raise ValueError("a bug in user code")

    client.subscribe_events(callback, "state_changed")
    for _ in range(2):
        client.call_service("light", "toggle", target={"entity_id": LIGHT})
    assert wait_until(lambda: len(errors.items) >= 2, 10)
    assert client.call("ping") is None and client.connected


def test_call_many_keeps_order_around_a_failure(client):
    results = client.call_many(
        [
            {"type": "get_config"},
            service_message("light", "turn_on", target={"entity_id": LIGHT}),
            service_message("light", "no_such_service", target={"entity_id": LIGHT}),
            {"type": "ping"},
            {"type": "get_states"},
        ],
        timeout=30,
    )
    assert len(results) == 5
    assert results[0]["location_name"]
    assert "context" in results[1]
    assert isinstance(results[2], HACommandError) and results[2].ha_code == "not_found"
    assert results[3] is None
    assert any(state["entity_id"] == LIGHT for state in results[4])


def test_call_many_pipelines_a_batch_of_service_calls(client):
    batch = [service_message("light", "turn_on", {"brightness": 100 + i}, {"entity_id": LIGHT}) for i in range(100)]
    results = client.call_many(batch, timeout=60)
    assert all(isinstance(result, dict) and "context" in result for result in results)


def test_many_threads_share_the_connection(client):
    # Ids must reach Home Assistant in increasing order whatever the thread.
    results = Recorder()

    def worker():
        for _ in range(20):
            results(client.call("ping"))
            results(tuple(client.call_many([{"type": "ping"}] * 5, timeout=30)))

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results.items.count(None) == 200
    assert results.items.count((None,) * 5) == 200


def test_call_service_with_response(client):
    result = client.call_service(
        "weather", "get_forecasts", {"type": "daily"}, {"entity_id": "weather.demo_weather_south"}, return_response=True
    )
    assert result["response"]["weather.demo_weather_south"]["forecast"]


def test_command_errors_carry_home_assistant_code(client):
    with pytest.raises(HACommandError) as caught:
        client.call("no_such_command")
    assert (caught.value.code, caught.value.ha_code) == ("ha_error", "unknown_command")


def test_coalesced_frames(client):
    before = client.stats
    assert client.call_many([{"type": "ping"}] * 300, timeout=30) == [None] * 300
    after = client.stats
    messages = after["messages_received"] - before["messages_received"]
    frames = after["frames_received"] - before["frames_received"]
    assert messages >= 300
    assert frames < messages  # Home Assistant packed several answers into JSON arrays


def test_per_call_timeout(client):
    # A script that waits 1.5 s answers late: the call gives up after 0.3 s.
    with pytest.raises(HATimeout):
        client.call("execute_script", sequence=[{"delay": {"milliseconds": 1500}}], timeout=0.3)
    assert client.call("ping") is None
    time.sleep(1.5)  # the late answer arrives and is dropped
    assert client.call("ping") is None and client.connected


def test_in_flight_calls_fail_at_once_when_the_link_drops(client):
    slow = client.call_async("execute_script", sequence=[{"delay": {"seconds": 30}}])
    assert client.call("ping") is None and not slow.done()
    client.reconnect()
    # HAUnavailable and not HATimeout: it failed well before the 5 s.
    with pytest.raises(HAUnavailable, match="connection lost"):
        slow.result(5)
    assert client.wait_connected(30)
    assert client.call("ping") is None


def test_frame_size_limit(make_client, peer):
    client = make_client(peer.url, peer.token, max_frame_size=4096)
    assert client.wait_connected(30), client.last_error
    with pytest.raises(HAUnavailable):
        client.call("get_states")  # about 50 kB
    assert wait_until(lambda: "over the 4096 bytes limit" in (client.last_error or ""), 10)


def test_client_not_started_and_closed():
    client = HAClient("http://127.0.0.1:1", "token")
    assert client.state == State.DISCONNECTED and not client.connected
    with pytest.raises(HAUnavailable):
        client.call("ping")
    client.close()
    assert client.state == State.CLOSED
    with pytest.raises(RuntimeError):
        client.start()
