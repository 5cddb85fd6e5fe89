"""Test helper: run any ASGI app under a real uvicorn server on 127.0.0.1 (free port), bounded in time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

STARTUP_LIMIT_S = 15.0
SHUTDOWN_LIMIT_S = 10.0


def reserve_port(host: str = "127.0.0.1") -> socket.socket:
    """Return a socket bound to a port the system chose and not listening: connections to it are refused, and
    nobody else can take the port until a server listens on this very socket (start_smtp(sock=…)) or it closes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    return sock


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now, for code under test that binds it itself (the
    service, the local sink, Radicale); test servers bind port 0 and read it back instead (run_uvicorn,
    start_smtp, reserve_port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def run_uvicorn(app: Any, *, host: str = "127.0.0.1", **config: Any) -> Iterator[str]:
    """Serve `app` in a background thread; yield its base URL (no trailing slash); stop it on exit.

    The socket is bound before the server starts, so the port cannot be taken by someone else in between.
    Extra keyword arguments go to uvicorn.Config (e.g. `limit_concurrency`, `timeout_keep_alive`).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    options = {"log_level": "warning", **config}
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"uvicorn on {host}:{port} stopped during start-up")
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn on {host}:{port} did not start within {STARTUP_LIMIT_S:g} s")
            time.sleep(0.02)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_LIMIT_S)
        if thread.is_alive():
            server.force_exit = True
            thread.join(SHUTDOWN_LIMIT_S)
        sock.close()
