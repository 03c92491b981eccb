import sys
from pathlib import Path

import pytest

# Shared test helpers (reference_replay) live beside the tests.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def emu():
    """kmock's Kubernetes API emulator on loopback (tests/kmockutil.py), stopped after the test."""
    pytest.importorskip("kmock")
    from kmockutil import Emulator

    e = Emulator()
    yield e
    e.stop()
