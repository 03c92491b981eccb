import sys
from pathlib import Path

# Shared test helpers (reference_replay) live beside the tests.
sys.path.insert(0, str(Path(__file__).parent))

# Real PostgreSQL and Redis servers for the tests that need them (tests/dataservers.py).
from dataservers import pg, postgres_server, rd, redis_server  # noqa: E402,F401
