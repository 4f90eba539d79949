"""A flow run leaves no Prefect thread touching the global ``random`` state once its test ends.

The cause of hypothesis' "Do not use the `random` module inside strategies" in whichever test ran
next: the events websocket a flow run opens pings with ``random.getrandbits`` every 20 s from
Prefect's event-loop thread. ``tests/support/prefect.py`` drains the client services after each test.
"""

from __future__ import annotations

import sys

import pytest
from prefect import flow

from tests.support.prefect import stop_client_services


@flow(name="qc-test-tiny")
def _tiny() -> int:
    return 2


@pytest.mark.usefixtures("prefect_harness")
def test_draining_stops_the_events_websocket_a_flow_run_opened() -> None:
    assert _tiny() == 2
    assert stop_client_services() >= 1  # the run started the events worker (its websocket)
    assert stop_client_services() == 0  # and draining stopped it: nothing left to ping
    from prefect.events.worker import EventsWorker

    assert EventsWorker._instances == {}
    assert _tiny() == 2  # the next flow run starts fresh workers
    assert stop_client_services() >= 1
    assert "prefect.events.worker" in sys.modules
