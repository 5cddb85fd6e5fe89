"""Public pages around the feeds: /subscribe (links, QR codes, per-client help) and /events/{plan_key}/{seq}.

/subscribe lists the feeds of the plans running today, with one link per plan; /events/{seq} (the address
older feeds and mail carry) shows that row of the current plan.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

import segno
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from scheduler.clock import local_date
from scheduler.feeds.filters import FeedNotFound, common_themes, event_matcher, resolve_spec, split_feed_path
from scheduler.feeds.render import event_path, is_cancelled, is_year_round, plans_title, summary, when_text
from scheduler.feeds.snapshot import PlanRec, PlanSnapshot
from scheduler.plan.catalog import current_plan
from scheduler.plan.models import BANKUAI_KINDS, OrgKind
from scheduler.plan.windows import QUARTER_WORDS
from scheduler.web.deps import RuntimeDep, SessionDep
from scheduler.web.feeds import feed_cache
from scheduler.web.templates import render

router = APIRouter()


@dataclass
class FeedLink:
    """One subscribable feed as the page lists it."""

    title: str
    path: str  # below /feeds/, e.g. "org/kjj.ics"
    count: int
    https: str
    webcal: str

    @property
    def label(self) -> str:
        """Return the short, readable link text: the decoded path below the site (the href keeps the full URL)."""
        return "/feeds/" + unquote(self.path)


def feed_link(snap: PlanSnapshot, base_url: str, title: str, path: str, *, today: date) -> FeedLink:
    """Describe one public feed with its https and webcal:// addresses and its number of entries on `today`."""
    raw_path, _, raw_query = path.partition("?")
    kind, value = split_feed_path(unquote(raw_path))
    spec = resolve_spec(snap, kind, value, parse_qsl(raw_query))
    keeps = event_matcher(spec, snap, today=today)
    count = sum(
        1
        for o in snap.occurrences
        if keeps[o.event_id] and not is_year_round(o) and not o.withdrawn and (spec.windows or o.start_at)
    )
    https = f"{base_url.rstrip('/')}/feeds/{path}"
    return FeedLink(title, path, count, https, "webcal://" + https.split("://", 1)[1])


def listed_plans(snap: PlanSnapshot, today: date, current_key: str | None) -> list[PlanRec]:
    """Return the plans the page offers: those running today, else the current plan (so the page is never empty)."""
    running = snap.running(today)
    if running:
        return running
    current = snap.plan_by_key(current_key) if current_key else None
    return [current] if current is not None else []


def feed_groups(
    snap: PlanSnapshot, base_url: str, *, today: date, plans: list[PlanRec] | None = None
) -> list[tuple[str, list[FeedLink]]]:
    """Return the page's feed list, grouped: all running plans, each plan, type, quarter, 板块, city units, chain.

    The filter groups list what the running plans (or `plans`, when none runs) hold.
    """
    shown = plans if plans is not None else snap.running(today)
    ids = {p.id for p in shown}
    live = [e for e in snap.events.values() if not e.withdrawn and e.plan_id in ids]
    involved = {k for e in live for k in (*e.hosts, *e.co_organizers)}
    chains = sorted({c for e in live for c in e.chains})
    themes = common_themes(shown)
    quarters = sorted({int(k) for p in shown for k in p.themes} or {1, 2, 3, 4})
    q = quote

    def link(title: str, path: str) -> FeedLink:
        return feed_link(snap, base_url, title, path, today=today)

    return [
        ("全部活动", [link("全部活动", "all.ics"), link("全部活动（仅已定档，不含时间待定）", "all.ics?windows=0")]),
        ("按年度计划", [link(p.title, f"plan/{q(p.key)}.ics") for p in shown]),
        ("按活动类型", [link(label, f"type/{q(key)}.ics") for key, label in snap.types(shown).items()]),
        (
            "按季度与主题",
            [
                link(
                    f"{QUARTER_WORDS[n]}季度" + (f"（{themes[str(n)]}）" if str(n) in themes else ""),
                    f"quarter/{n}.ics",
                )
                for n in quarters
            ],
        ),
        ("按板块", [link(o.short_name, f"bankuai/{o.key}.ics") for o in snap.orgs.values() if o.kind in BANKUAI_KINDS]),
        (
            "按市级单位",
            [
                link(o.short_name, f"org/{o.key}.ics")
                for o in snap.orgs.values()
                if o.kind in (OrgKind.CITY_DEPARTMENT, OrgKind.PLATFORM) and o.key in involved
            ],
        ),
        ("按产业链", [link(f"{c}产业链", f"chain/{q(c)}.ics") for c in chains]),
    ]


def where_text(hosts: list[str], location: str | None) -> str:
    """Say who hosts and where, naming each organization or place once (苏锡通园区 hosts at 苏锡通园区)."""
    names = list(dict.fromkeys(h for h in hosts if h))
    parts = ["、".join(names)] if names else []
    if location and location not in names and location not in parts:
        parts.append(location)
    return "，".join(parts)


def _current_key(session: SessionDep, today: date) -> str | None:
    plan = current_plan(session=session, today=today)
    return plan.key if plan is not None else None


@router.get("/subscribe", response_class=HTMLResponse)
def subscribe_page(request: Request, runtime: RuntimeDep, session: SessionDep) -> Any:
    """List every public feed with https and webcal:// links, a QR code and per-client instructions."""
    cache = feed_cache(runtime)
    try:
        snap = cache.current()
    except FeedNotFound:
        return render(request, "subscribe.html", {"has_plan": False}, status_code=200)
    today = local_date(runtime.clock.now())
    running = snap.running(today)
    plans = running or listed_plans(snap, today, _current_key(session, today))
    base_url = runtime.settings.base_url
    groups = feed_groups(snap, base_url, today=today, plans=plans)
    main = groups[0][1][0]
    ids = {p.id for p in plans}
    year_round = [
        {
            "title": o.title,
            "href": event_path(snap.events[o.event_id]),
            "plan": snap.plans[o.plan_id].title if len(plans) > 1 else "",
            "where": where_text([snap.orgs[k].short_name for k in snap.events[o.event_id].hosts], o.location),
        }
        for o in snap.occurrences
        if o.plan_id in ids and is_year_round(o) and not is_cancelled(o, snap.events[o.event_id])
    ]
    qr = segno.make(main.webcal, error="m").svg_inline(scale=4, title="订阅全部活动的二维码")
    return render(
        request,
        "subscribe.html",
        {
            "has_plan": True,
            "plan_title": plans_title(running) if running else "活动日历",
            "running": bool(running),
            "plans": plans,
            "groups": groups,
            "main": main,
            "qr_svg": qr,
            "year_round": year_round,
        },
    )


@router.get("/subscribe/qr.svg")
def subscribe_qr(feed: str, runtime: RuntimeDep) -> Response:
    """Return the QR code (SVG) of one public feed's webcal:// address."""
    cache = feed_cache(runtime)
    try:
        today = local_date(runtime.clock.now())
        link = feed_link(cache.current(), runtime.settings.base_url, "", feed, today=today)
    except FeedNotFound as exc:
        raise HTTPException(404, exc.message) from None
    if link.path.startswith("private/"):
        raise HTTPException(404, "内部日历没有公开二维码")
    out = io.BytesIO()  # a standalone file needs the XML namespace that svg_inline leaves out
    segno.make(link.webcal, error="m").save(out, kind="svg", scale=4, title=link.webcal)
    return Response(out.getvalue(), media_type="image/svg+xml", headers={"cache-control": "public, max-age=3600"})


@router.get("/events/{seq}", response_class=HTMLResponse)
def current_event_page(request: Request, seq: int, runtime: RuntimeDep, session: SessionDep) -> Any:
    """Show row `seq` of the current plan (the address feeds carried before plans had keys in their links)."""
    key = _current_key(session, local_date(runtime.clock.now()))
    if key is None:
        raise HTTPException(404, "数据库中还没有活动计划")
    return event_page(request, key, seq, runtime)


@router.get("/events/{plan_key}/{seq}", response_class=HTMLResponse)
def event_page(request: Request, plan_key: str, seq: int, runtime: RuntimeDep) -> Any:
    """Show one plan row as the public feed shows it: sessions, time, place, organizations, type."""
    try:
        snap = feed_cache(runtime).current()
    except FeedNotFound as exc:
        raise HTTPException(404, exc.message) from None
    plan = snap.plan_by_key(plan_key)
    if plan is None:
        raise HTTPException(404, f"没有计划“{plan_key[:100]}”")
    ev = next((e for e in snap.events.values() if e.plan_id == plan.id and e.seq == seq and not e.withdrawn), None)
    if ev is None:
        raise HTTPException(404, f"计划中没有序号为 {seq} 的活动")
    sessions = [
        {
            "summary": summary(o, ev),
            "when": "全年常态化开展" if is_year_round(o) else when_text(o),
            "location": o.location,
            "cancelled": is_cancelled(o, ev),
            "uid": o.uid,
        }
        for o in snap.occurrences
        if o.event_id == ev.id and not o.withdrawn
    ]
    return render(
        request,
        "event.html",
        {
            "ev": ev,
            "sessions": sessions,
            "type_label": snap.type_label(ev),
            "quarter": QUARTER_WORDS[ev.quarter],
            "hosts": [snap.orgs[k].short_name for k in ev.hosts],
            "co_organizers": [snap.orgs[k].short_name for k in ev.co_organizers],
            "plan_title": plan.title,
        },
    )
