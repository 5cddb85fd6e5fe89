"""Feed benchmark, one run: cold renders vs a floor writer, re-render after one edit, peak memory, HTTP vs nginx.

Usage: .venv/bin/python bench/feeds.py [--seconds 5] [--skip-http]
Installs nginx-light and wrk from Debian (apt-get) if they are missing. Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import icalendar
from floor_ics import write_floor
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

import scheduler.metadata  # noqa: F401
from scheduler.clock import SHANGHAI
from scheduler.config import DEFAULT_SEED, Settings
from scheduler.db import make_engine, session_scope
from scheduler.feeds.cache import FeedCache, VEventCache
from scheduler.feeds.filters import FeedSpec
from scheduler.feeds.render import render_feed
from scheduler.feeds.snapshot import load_snapshot
from scheduler.plan.importer import import_plan
from scheduler.plan.models import Event, EventOrganization, Occurrence, Organization, Plan
from scheduler.plan.occurrences import cancel_occurrence, get_occurrence
from scheduler.plan.seed import read_plan_file
from scheduler.plan.windows import month_end

NOW = datetime(2023, 1, 22, 1, 0, tzinfo=UTC)
BASE = "https://kjzs.example.org"
SPEC = FeedSpec()  # all.ics: the plans running at NOW (the 2023 plan)
BIG = FeedSpec(plans=("synthetic",))  # the synthetic 2024 plan's own feed (it is not running at NOW)
WORDS = "科技成果对接洽谈会高校院所产学研合作新一代信息技术船舶海工生物医药新材料新能源高端装备推介会恳谈创投基金园区行"


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Return the fastest wall time of `repeat` runs and the last result."""
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def seeded_db(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=read_plan_file(DEFAULT_SEED), now=NOW)
    return engine


def add_synthetic_plan(engine: Engine, occurrences: int, sessions_per_event: int = 10) -> None:
    """Add a newer plan with `occurrences` sessions: windows, fixed times and some cancellations."""
    rnd = random.Random(20230122)
    with session_scope(engine, write=True) as session:
        orgs = [o.id for o in session.exec(select(Organization))]
        plan = Plan(key="synthetic", year=2024, title="合成压力测试计划", source="bench", published=date(2024, 1, 1),
                    themes={"1": "科技成果", "2": "科创项目", "3": "平台载体", "4": "科技人才"},
                    created_at=NOW, updated_at=NOW)  # fmt: skip
        session.add(plan)
        session.flush()
        n_events = occurrences // sessions_per_event
        types = ["quarterly_theme", "city_coordinated", "city_service", "district"]
        events, links, occs = [], [], []
        for i in range(1, n_events + 1):
            q = (i - 1) * 4 // n_events + 1
            text = "".join(rnd.choice(WORDS) for _ in range(30))
            events.append({"id": i + 1000, "plan_id": plan.id, "seq": i, "quarter": q, "type": types[i % 4],
                           "theme": None, "title": f"合成活动{i}：{text[:18]}", "content": text * 3,
                           "locations": ["南通"], "date_text": "2024年", "chains": ["新能源"] if i % 5 == 0 else [],
                           "series": None, "withdrawn": False, "created_at": NOW, "updated_at": NOW})  # fmt: skip
            links.append({"event_id": i + 1000, "organization_id": orgs[i % len(orgs)], "role": "host", "position": 0})
            links.append({"event_id": i + 1000, "organization_id": orgs[(i * 7) % len(orgs)], "role": "co_organizer",
                          "position": 0})  # fmt: skip
            for j in range(sessions_per_event):
                month = (3 * (q - 1) + j % 3) + 1
                start_at = None
                if rnd.random() < 0.25:
                    start_at = datetime(2024, month, rnd.randint(1, 28), 9, 30, tzinfo=SHANGHAI)
                key = f"s{i}-{j}"
                occs.append({"plan_id": plan.id, "event_id": i + 1000, "key": key, "uid": f"synthetic-{key}@bench",
                             "position": j, "title": f"合成活动{i}·第{j + 1}场（{text[j:j + 8]}）",
                             "location": f"南通{text[j]}区", "date_text": f"2024年{month}月",
                             "window_start": date(2024, month, 1), "window_end": month_end(2024, month),
                             "precision": "month", "start_at": start_at,
                             "end_at": start_at + timedelta(hours=2) if start_at else None,
                             "status": "cancelled" if rnd.random() < 0.05 else ("fixed" if start_at else "planned"),
                             "status_reason": None, "sequence": 0, "withdrawn": False,
                             "created_at": NOW, "updated_at": NOW})  # fmt: skip
        session.execute(insert(Event), events)
        session.execute(insert(EventOrganization), links)
        session.execute(insert(Occurrence), occs)


def check_floor(body: bytes, expected: int) -> None:
    """Verify the floor writer's output by parsing it back."""
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert len(events) == expected, (len(events), expected)
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))


def render_figures(label: str, engine: Engine, repeat: int, spec: FeedSpec = SPEC) -> dict[str, float]:
    """Section (a): cold render (empty VEVENT cache) vs the floor writer over the same snapshot."""
    with session_scope(engine) as session:
        load_s, snap = best(lambda: load_snapshot(session=session), repeat)
    assert snap is not None
    cold_s, feed = best(lambda: render_feed(snap, spec, now=NOW, base_url=BASE, vevent_cache=VEventCache()), repeat)
    floor_s, floor_body = best(lambda: write_floor(snap), repeat)
    check_floor(floor_body, len(snap.occurrences))
    print(f"  {label}: {len(snap.occurrences)} occurrences → {feed.event_count} VEVENTs, {len(feed.body) / 1e6:.2f} MB")
    print(f"    cold render          {cold_s * 1e3:9.1f} ms   (floor writer {floor_s * 1e3:.1f} ms → ratio "
          f"{cold_s / floor_s:.2f}×)")  # fmt: skip
    print(f"    + reading the plan   {load_s * 1e3:9.1f} ms   (cold total {(cold_s + load_s) * 1e3:.1f} ms, "
          f"ratio {(cold_s + load_s) / floor_s:.2f}× floor)")  # fmt: skip
    return {"cold": cold_s, "load": load_s, "floor": floor_s}


def rerender_after_one_change(engine: Engine, floor_s: float) -> None:
    """Section (b): warm cache, cancel one occurrence, time version check + reload + re-render."""
    cache = FeedCache(engine, base_url=BASE, recheck_seconds=0)
    before = cache.feed(BIG, NOW)
    times = []
    for i in range(3):
        with session_scope(engine, write=True) as session:
            occ = get_occurrence(session=session, key=f"s{10 + i}-1")
            cancel_occurrence(session=session, occurrence=occ, reason="压力测试", now=NOW + timedelta(minutes=i + 1))
        gc.collect()
        t0 = time.perf_counter()
        after = cache.feed(BIG, NOW)  # checks the data version, reloads the plan, reuses unchanged VEVENTs
        times.append(time.perf_counter() - t0)
        assert after.etag != before.etag
        before = after
    t = min(times)
    verdict = "meets" if t <= floor_s else "MISSES"
    print(f"  re-render after one change {t * 1e3:7.1f} ms (incl. reading the plan) vs floor cold "
          f"{floor_s * 1e3:.1f} ms → {t / floor_s:.2f}×  [{verdict} target ≤ 1×]")  # fmt: skip


def peak_memory(engine: Engine) -> None:
    """Section (c): traced peak of reading + cold-rendering the big plan, and the process's max RSS."""
    gc.collect()
    tracemalloc.start()
    with session_scope(engine) as session:
        snap = load_snapshot(session=session)
    assert snap is not None
    feed = render_feed(snap, BIG, now=NOW, base_url=BASE, vevent_cache=VEventCache())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    verdict = "meets" if peak / 1e6 < 300 else "MISSES"
    print(f"  20k: traced peak {peak / 1e6:.0f} MB for {len(feed.body) / 1e6:.1f} MB of feed; process max RSS "
          f"{rss:.0f} MB  [{verdict} target < 300 MB]")  # fmt: skip


def ensure_debian(binary: str, package: str) -> str:
    """Return the path of `binary`, installing `package` with apt-get when it is missing."""
    found = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None)
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print(f"  installing {package} (apt-get) …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", package], check=True, env=env)
    return shutil.which(binary) or f"/usr/sbin/{binary}"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode})")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def wrk(wrk_bin: str, url: str, seconds: int, header: str | None = None) -> float:
    """Return requests/second from a bounded wrk run (1 thread, 32 connections)."""
    cmd = [wrk_bin, "-t1", "-c32", f"-d{seconds}s", url]
    if header:
        cmd[1:1] = ["-H", header]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 30).stdout
    if "Non-2xx or 3xx" in out:
        raise RuntimeError(f"errors during load:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def serve(db_path: str, port: int) -> None:
    """Run the real app under uvicorn with httptools and uvloop (child process of the benchmark)."""
    import uvicorn

    from scheduler.clock import FixedClock
    from scheduler.web.app import create_app

    settings = Settings(database_url=f"sqlite:///{db_path}", base_url=BASE)
    app = create_app(settings, clock=FixedClock(NOW))
    uvicorn.run(app, host="127.0.0.1", port=port, http="httptools", loop="uvloop", access_log=False,
                log_level="warning")  # fmt: skip


def http_figures(db_path: Path, body: bytes, seconds: int) -> None:
    """Section (d): cached 200s and 304s per second, uvicorn vs nginx serving the same bytes from disk."""
    nginx_bin = ensure_debian("nginx", "nginx-light")
    wrk_bin = ensure_debian("wrk", "wrk")
    tmp = Path(tempfile.mkdtemp(prefix="feedbench-"))
    tmp.chmod(0o755)
    (tmp / "www" / "feeds").mkdir(parents=True)
    (tmp / "www").chmod(0o755)
    (tmp / "www" / "feeds").chmod(0o755)
    (tmp / "www" / "feeds" / "all.ics").write_bytes(body)
    nginx_port, app_port = free_port(), free_port()
    (tmp / "nginx.conf").write_text(
        f"worker_processes 1; daemon off; pid {tmp}/nginx.pid; error_log {tmp}/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        f"http {{ access_log off; sendfile on; etag on; keepalive_requests 1000000;\n"
        f"  client_body_temp_path {tmp}/cb; proxy_temp_path {tmp}/px; fastcgi_temp_path {tmp}/fc;\n"
        f"  uwsgi_temp_path {tmp}/uw; scgi_temp_path {tmp}/sc;\n"
        "  types { text/calendar ics; } charset utf-8; charset_types text/calendar;\n"
        f"  server {{ listen 127.0.0.1:{nginx_port}; root {tmp}/www; }} }}\n"
    )
    procs = [
        subprocess.Popen([nginx_bin, "-p", str(tmp), "-c", str(tmp / "nginx.conf")]),
        subprocess.Popen([sys.executable, __file__, "serve", str(db_path), str(app_port)]),
    ]
    try:
        nginx_url = f"http://127.0.0.1:{nginx_port}/feeds/all.ics"
        app_url = f"http://127.0.0.1:{app_port}/feeds/all.ics"
        wait_http(nginx_url, procs[0])
        wait_http(app_url, procs[1])
        served_nginx, served_app = httpx.get(nginx_url), httpx.get(app_url, headers={"accept-encoding": "identity"})
        assert served_nginx.content == served_app.content == body, "both must serve the same bytes"
        inm_nginx = f"If-None-Match: {served_nginx.headers['etag']}"
        inm_app = f"If-None-Match: {served_app.headers['etag']}"
        assert httpx.get(nginx_url, headers={"if-none-match": served_nginx.headers["etag"]}).status_code == 304
        assert httpx.get(app_url, headers={"if-none-match": served_app.headers["etag"]}).status_code == 304
        figures = {}
        for name, url, inm in (("nginx", nginx_url, inm_nginx), ("uvicorn", app_url, inm_app)):
            wrk(wrk_bin, url, 1)  # warm up
            figures[name] = (wrk(wrk_bin, url, seconds), wrk(wrk_bin, url, seconds, inm))
        (n200, n304), (a200, a304) = figures["nginx"], figures["uvicorn"]
        print(f"  feed of {len(body) / 1e3:.0f} kB, wrk 1 thread × 32 connections × {seconds} s, one worker each")
        print(f"    200s: uvicorn {a200:9.0f}/s  nginx {n200:9.0f}/s  → {a200 / n200:.2f}×  "
              f"[{'meets' if a200 / n200 >= 0.5 else 'MISSES'} target ≥ 0.5×]")  # fmt: skip
        print(f"    304s: uvicorn {a304:9.0f}/s  nginx {n304:9.0f}/s  → {a304 / n304:.2f}×  "
              f"[{'meets' if a304 / n304 >= 0.2 else 'MISSES'} target ≥ 0.2×]")  # fmt: skip
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="duration of each wrk run")
    parser.add_argument("--occurrences", type=int, default=20_000)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="feedbench-db-") as tmp:
        small_path, big_path = Path(tmp) / "plan2023.db", Path(tmp) / "big.db"
        small, big = seeded_db(small_path), seeded_db(big_path)
        add_synthetic_plan(big, args.occurrences)
        print("(a) cold render vs floor writer (minimal RFC 5545 writer, output parsed back with icalendar)")
        fig_small = render_figures("2023 plan", small, repeat=20)
        verdict = "meets" if fig_small["cold"] + fig_small["load"] < 0.05 else "MISSES"
        print(f"    [{verdict} target < 50 ms for the 2023 plan, reading included]")
        fig_big = render_figures(f"synthetic {args.occurrences}", big, repeat=3, spec=BIG)
        print("(b) re-render of the big feed after one occurrence changed")
        rerender_after_one_change(big, fig_big["floor"])
        print("(c) peak memory of (a)")
        peak_memory(big)
        if not args.skip_http:
            print("(d) cached feed over HTTP: uvicorn (httptools + uvloop) vs nginx from disk")
            cache = FeedCache(small, base_url=BASE, recheck_seconds=0)
            http_figures(small_path, cache.feed(SPEC, NOW).body, args.seconds)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        main()
