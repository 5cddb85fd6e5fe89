"""Cached feed over HTTP near the stack's ceiling: the real app vs a minimal ASGI app on the same uvicorn.

Usage: .venv/bin/python bench/feeds_fast.py [--rounds 3] [--seconds 3] [--connections 32]

Three servers, one process each, the same uvicorn (httptools + uvloop) and the same 54 kB all.ics bytes:
  minimal   a bare ASGI callable holding the bytes and their ETag (the stack's own ceiling);
  minimal+hdr  the same sending exactly the app's headers (ETag, Last-Modified, Cache-Control, Vary, nosniff):
            what uvicorn charges for the headers a feed must carry, none of the application's code;
  app       create_app as `serve` builds it (SCHEDULER_ACCESS_LOG off, the default);
  app+log   the same with SCHEDULER_ACCESS_LOG=on (lines written to /dev/null).
Load: wrk (1 thread) when installed, else a raw asyncio keep-alive client in its own process (pre-built request
bytes, responses read by Content-Length, statuses checked). 200s and 304s (If-None-Match), rounds interleaved;
ratios against `minimal` of the same round, min/median/max. nginx is measured beside them only when installed.
Target (issue 16): app ≥ 0.8× minimal for both 200s and 304s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from feeds import BASE, NOW, SPEC, free_port, seeded_db, wait_http

from scheduler.config import Settings
from scheduler.feeds.cache import FeedCache

TARGET = 0.8
PATH = "/feeds/all.ics"


def serve_minimal(body_file: str, port: int, headers_file: str = "") -> None:
    """A bare ASGI app answering every GET with the bytes (or 304 when If-None-Match matches).

    With `headers_file` (the app's own 200 and 304 headers, JSON) it sends exactly those headers: uvicorn's cost of
    the headers a feed must carry, without any of the application's code.
    """
    import uvicorn

    body = Path(body_file).read_bytes()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'.encode()
    ok = [(b"content-type", b"text/calendar; charset=utf-8"), (b"content-length", str(len(body)).encode()),
          (b"etag", etag)]  # fmt: skip
    unchanged = [(b"etag", etag)]
    if headers_file:
        given = json.loads(Path(headers_file).read_text())
        ok = [(k.encode(), v.encode()) for k, v in given["200"]]
        unchanged = [(k.encode(), v.encode()) for k, v in given["304"]]
        etag = dict(ok)[b"etag"]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        inm = next((v for k, v in scope["headers"] if k == b"if-none-match"), None)
        if inm == etag:
            await send({"type": "http.response.start", "status": 304, "headers": unchanged})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": ok})
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(app, host="127.0.0.1", port=port, http="httptools", loop="uvloop", access_log=False,
                log_level="warning")  # fmt: skip


def serve_app(db_path: str, port: int, access_log: bool) -> None:
    """The real application as `serve` runs it (uvicorn's own access log off; ours per the setting)."""
    import uvicorn

    from scheduler.clock import FixedClock
    from scheduler.web.accesslog import log_to_stdout
    from scheduler.web.app import create_app

    settings = Settings(database_url=f"sqlite:///{db_path}", base_url=BASE, access_log=access_log)
    if access_log:
        log_to_stdout()
    app = create_app(settings, clock=FixedClock(NOW))
    uvicorn.run(app, host="127.0.0.1", port=port, http="httptools", loop="uvloop", access_log=False,
                log_level="warning")  # fmt: skip


async def _connection(port: int, request: bytes, expect: int, deadline: float) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    try:
        while time.monotonic() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            if status != expect:
                raise RuntimeError(f"expected {expect}, got {status}")
            found = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if found and int(found.group(1)):
                await reader.readexactly(int(found.group(1)))
            done += 1
    finally:
        writer.close()
    return done


def load(port: int, seconds: float, connections: int, etag: str | None) -> None:
    """Child process: drive `port` for `seconds`; print requests/second."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    extra = f"If-None-Match: {etag}\r\n" if etag else ""
    request = f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n{extra}\r\n".encode()
    expect = 304 if etag else 200

    async def run() -> float:
        t0 = time.monotonic()
        counts = await asyncio.gather(*(_connection(port, request, expect, t0 + seconds) for _ in range(connections)))
        return sum(counts) / (time.monotonic() - t0)

    print(f"{asyncio.run(run()):.1f}")


def measure(port: int, seconds: float, connections: int, etag: str | None) -> float:
    """Return requests/second against `port` (wrk when installed, else the asyncio client in a child process)."""
    url = f"http://127.0.0.1:{port}{PATH}"
    wrk = shutil.which("wrk")
    if wrk:
        cmd = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-H", "Accept-Encoding: identity", url]
        if etag:
            cmd[1:1] = ["-H", f"If-None-Match: {etag}"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 30).stdout
        if "Non-2xx or 3xx" in out:
            raise RuntimeError(f"errors during load:\n{out}")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    cmd = [sys.executable, __file__, "load", str(port), str(seconds), str(connections), etag or ""]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    return float(out.strip().splitlines()[-1])


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU time a process has used (from /proc: immune to other load on the machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_with_cpu(pid: int, port: int, seconds: float, connections: int, etag: str | None) -> tuple[float, float]:
    """Return (requests/second, server CPU seconds per request) of one load run."""
    before = cpu_seconds(pid)
    t0 = time.monotonic()
    rate = measure(port, seconds, connections, etag)
    elapsed = time.monotonic() - t0
    used = cpu_seconds(pid) - before
    return rate, used / max(rate * min(elapsed, seconds), 1.0)


def nginx_server(tmp: Path, body: bytes) -> tuple[subprocess.Popen[bytes], int] | None:
    """Start nginx on the same bytes if it is installed (never installed by this bench)."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        return None
    (tmp / "www" / "feeds").mkdir(parents=True)
    (tmp / "www" / "feeds" / "all.ics").write_bytes(body)
    port = free_port()
    (tmp / "nginx.conf").write_text(
        f"worker_processes 1; daemon off; pid {tmp}/nginx.pid; error_log {tmp}/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        f"http {{ access_log off; sendfile on; etag on; keepalive_requests 1000000;\n"
        f"  client_body_temp_path {tmp}/cb; proxy_temp_path {tmp}/px; fastcgi_temp_path {tmp}/fc;\n"
        f"  uwsgi_temp_path {tmp}/uw; scgi_temp_path {tmp}/sc;\n"
        "  types { text/calendar ics; } charset utf-8; charset_types text/calendar;\n"
        f"  server {{ listen 127.0.0.1:{port}; root {tmp}/www; }} }}\n"
    )
    return subprocess.Popen([binary, "-p", str(tmp), "-c", str(tmp / "nginx.conf")]), port


def spread(values: list[float]) -> str:
    return f"{min(values):.3f}/{statistics.median(values):.3f}/{max(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each load run")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="feedfast-"))
    tmp.chmod(0o755)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        db_path = tmp / "plan2023.db"
        body = FeedCache(seeded_db(db_path), base_url=BASE, recheck_seconds=0).feed(SPEC, NOW).body
        (tmp / "body.ics").write_bytes(body)
        ports = {"minimal": free_port(), "app": free_port(), "app+log": free_port()}
        quiet = {"stdout": subprocess.DEVNULL}
        procs.append(subprocess.Popen([sys.executable, __file__, "serve-minimal", str(tmp / "body.ics"),
                                       str(ports["minimal"])], **quiet))  # type: ignore[call-overload]  # fmt: skip
        for name, flag in (("app", "off"), ("app+log", "on")):
            procs.append(subprocess.Popen([sys.executable, __file__, "serve-app", str(db_path), str(ports[name]),
                                           flag], **quiet))  # type: ignore[call-overload]  # fmt: skip
        app_url = f"http://127.0.0.1:{ports['app']}{PATH}"
        wait_http(app_url, procs[1])
        first = httpx.get(app_url, headers={"accept-encoding": "identity"})
        again = httpx.get(app_url, headers={"accept-encoding": "identity", "if-none-match": first.headers["etag"]})
        skip = {"date", "server"}  # uvicorn adds its own
        own = {str(r.status_code): [(k, v) for k, v in r.headers.multi_items() if k not in skip]
               for r in (first, again)}  # fmt: skip
        (tmp / "headers.json").write_text(json.dumps(own))
        ports["minimal+hdr"] = free_port()
        procs.append(subprocess.Popen([sys.executable, __file__, "serve-minimal", str(tmp / "body.ics"),
                                       str(ports["minimal+hdr"]), str(tmp / "headers.json")],
                                      **quiet))  # type: ignore[call-overload]  # fmt: skip
        nginx = nginx_server(tmp, body)
        if nginx is not None:
            procs.append(nginx[0])
            ports["nginx"] = nginx[1]
        etags: dict[str, str] = {}
        for name, port in ports.items():
            url = f"http://127.0.0.1:{port}{PATH}"
            wait_http(url, procs[list(ports).index(name)])
            got = httpx.get(url, headers={"accept-encoding": "identity"})
            assert got.status_code == 200 and got.content == body, f"{name} must serve the same bytes"
            etags[name] = got.headers["etag"]
            assert httpx.get(url, headers={"if-none-match": etags[name]}).status_code == 304, name
        print(f"cached all.ics ({len(body) / 1e3:.0f} kB), {args.connections} keep-alive connections, "
              f"{args.seconds:g} s per run, {args.rounds} round(s), load: {'wrk' if shutil.which('wrk') else 'asyncio'}"
              f"; nginx {'measured' if nginx else 'not installed (not measured)'}")  # fmt: skip
        pids = dict(zip(ports, (p.pid for p in procs), strict=True))
        rates: dict[tuple[str, int], list[float]] = {}
        cpus: dict[tuple[str, int], list[float]] = {}
        for _ in range(args.rounds):
            for status in (200, 304):
                for name, port in ports.items():
                    etag = etags[name] if status == 304 else None
                    rate, cpu = measure_with_cpu(pids[name], port, args.seconds, args.connections, etag)
                    rates.setdefault((name, status), []).append(rate)
                    cpus.setdefault((name, status), []).append(cpu)
        print("  throughput ratio = req/s ÷ minimal's in the same round; CPU ratio = minimal's server CPU per request "
              "÷ this server's (what the throughput ratio would be with a core each, unaffected by other load)")
        for status in (200, 304):
            base, base_cpu = rates[("minimal", status)], cpus[("minimal", status)]
            print(f"  {status}s  minimal {spread(base)} req/s, {statistics.median(base_cpu) * 1e6:.0f} µs CPU/request")
            for name in ports:
                if name == "minimal":
                    continue
                ratios = [r / b for r, b in zip(rates[(name, status)], base, strict=True)]
                cpu_ratios = [b / c for c, b in zip(cpus[(name, status)], base_cpu, strict=True)]
                verdict = ""
                if name == "app":
                    verdict = (" [meets" if min(cpu_ratios) >= TARGET else " [MISSES") + " ≥ 0.8× by CPU]"
                print(f"    {name:8} {statistics.median(rates[(name, status)]):7.0f} req/s → {spread(ratios)}× | "
                      f"{statistics.median(cpus[(name, status)]) * 1e6:4.0f} µs CPU/request → "
                      f"{spread(cpu_ratios)}×{verdict}")  # fmt: skip
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve-minimal"]:
        serve_minimal(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "")
    elif sys.argv[1:2] == ["serve-app"]:
        serve_app(sys.argv[2], int(sys.argv[3]), sys.argv[4] == "on")
    elif sys.argv[1:2] == ["load"]:
        load(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5] or None)
    else:
        main()
