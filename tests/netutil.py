"""Loopback helpers shared by the tests that start real servers."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def free_port():
    """A port free right now, below the kernel's ephemeral range where possible.

    bind(0) would hand out an ephemeral port, which any client connection (ours
    included) may take as its source port before the server binds it.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    for _ in range(50):
        port = random.randrange(max(1024, low - 10000), low) if low > 2048 else 0
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port found")
