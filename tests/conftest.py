import sys
from pathlib import Path

import pytest

# Shared test helpers (reference_replay) live beside the tests.
sys.path.insert(0, str(Path(__file__).parent))

# Real PostgreSQL and Redis servers for the tests that need them (tests/dataservers.py).
from dataservers import pg, postgres_server, rd, redis_server  # noqa: E402,F401


@pytest.fixture
def emu():
    """kmock's Kubernetes API emulator on loopback (tests/kmockutil.py), stopped after the test."""
    pytest.importorskip("kmock")
    from kmockutil import Emulator

    e = Emulator()
    yield e
    e.stop()


@pytest.fixture(autouse=True)
def _notes_said_afresh():
    """Lab says each "cannot model" note once per session: each test is a session of its own."""
    from releaselab import lab

    lab.NOTES_SAID.clear()
    yield
