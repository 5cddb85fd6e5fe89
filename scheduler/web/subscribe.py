"""Public pages around the feeds: /subscribe (links, QR codes, per-client help) and /events/{seq}."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

import segno
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from scheduler.feeds.filters import FeedNotFound, event_matcher, resolve_spec, split_feed_path
from scheduler.feeds.render import is_cancelled, is_year_round, summary, when_text
from scheduler.feeds.snapshot import PlanSnapshot
from scheduler.plan.models import BANKUAI_KINDS, EVENT_TYPE_LABELS, EventType, OrgKind
from scheduler.plan.windows import QUARTER_WORDS
from scheduler.web.deps import RuntimeDep
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


def feed_link(snap: PlanSnapshot, base_url: str, title: str, path: str) -> FeedLink:
    """Describe one public feed with its https and webcal:// addresses and its number of entries."""
    raw_path, _, raw_query = path.partition("?")
    kind, value = split_feed_path(unquote(raw_path))
    spec = resolve_spec(snap, kind, value, parse_qsl(raw_query))
    keeps = event_matcher(spec, snap)
    count = sum(
        1
        for o in snap.occurrences
        if keeps[o.event_id] and not is_year_round(o) and not o.withdrawn and (spec.windows or o.start_at)
    )
    https = f"{base_url.rstrip('/')}/feeds/{path}"
    return FeedLink(title, path, count, https, "webcal://" + https.split("://", 1)[1])


def feed_groups(snap: PlanSnapshot, base_url: str) -> list[tuple[str, list[FeedLink]]]:
    """Return the page's feed list, grouped: whole plan, type, quarter, 板块, city units, industry chain."""
    involved = {k for e in snap.events.values() if not e.withdrawn for k in (*e.hosts, *e.co_organizers)}
    q = quote
    link = feed_link
    groups = [
        (
            "全部活动",
            [
                link(snap, base_url, "全部活动", "all.ics"),
                link(snap, base_url, "全部活动（仅已定档，不含时间待定）", "all.ics?windows=0"),
            ],
        ),
        ("按活动类型", [link(snap, base_url, label, f"type/{t.value}.ics") for t, label in EVENT_TYPE_LABELS.items()]),
        (
            "按季度与主题",
            [
                link(snap, base_url, f"{QUARTER_WORDS[int(n)]}季度（{theme}）", f"quarter/{n}.ics")
                for n, theme in sorted(snap.themes.items())
            ],
        ),
        (
            "按板块",
            [
                link(snap, base_url, o.short_name, f"bankuai/{o.key}.ics")
                for o in snap.orgs.values()
                if o.kind in BANKUAI_KINDS
            ],
        ),
        (
            "按市级单位",
            [
                link(snap, base_url, o.short_name, f"org/{o.key}.ics")
                for o in snap.orgs.values()
                if o.kind in (OrgKind.CITY_DEPARTMENT, OrgKind.PLATFORM) and o.key in involved
            ],
        ),
        ("按产业链", [link(snap, base_url, f"{c}产业链", f"chain/{q(c)}.ics") for c in snap.chains]),
    ]
    return groups


def where_text(hosts: list[str], location: str | None) -> str:
    """Say who hosts and where, naming each organization or place once (苏锡通园区 hosts at 苏锡通园区)."""
    names = list(dict.fromkeys(h for h in hosts if h))
    parts = ["、".join(names)] if names else []
    if location and location not in names and location not in parts:
        parts.append(location)
    return "，".join(parts)


@router.get("/subscribe", response_class=HTMLResponse)
def subscribe_page(request: Request, runtime: RuntimeDep) -> Any:
    """List every public feed with https and webcal:// links, a QR code and per-client instructions."""
    cache = feed_cache(runtime)
    try:
        snap = cache.current()
    except FeedNotFound:
        return render(request, "subscribe.html", {"has_plan": False}, status_code=200)
    base_url = runtime.settings.base_url
    groups = feed_groups(snap, base_url)
    main = groups[0][1][0]
    year_round = [
        {
            "title": o.title,
            "seq": snap.events[o.event_id].seq,
            "where": where_text(
                [snap.orgs[k].short_name for k in snap.events[o.event_id].hosts], o.location
            ),
        }
        for o in snap.occurrences
        if is_year_round(o) and not is_cancelled(o, snap.events[o.event_id])
    ]
    qr = segno.make(main.webcal, error="m").svg_inline(scale=4, title="订阅全部活动的二维码")
    return render(
        request,
        "subscribe.html",
        {
            "has_plan": True,
            "plan_title": snap.plan_title,
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
        link = feed_link(cache.current(), runtime.settings.base_url, "", feed)
    except FeedNotFound as exc:
        raise HTTPException(404, exc.message) from None
    if link.path.startswith("private/"):
        raise HTTPException(404, "内部日历没有公开二维码")
    out = io.BytesIO()  # a standalone file needs the XML namespace that svg_inline leaves out
    segno.make(link.webcal, error="m").save(out, kind="svg", scale=4, title=link.webcal)
    return Response(out.getvalue(), media_type="image/svg+xml", headers={"cache-control": "public, max-age=3600"})


@router.get("/events/{seq}", response_class=HTMLResponse)
def event_page(request: Request, seq: int, runtime: RuntimeDep) -> Any:
    """Show one plan row as the public feed shows it: sessions, time, place, organizations, type."""
    try:
        snap = feed_cache(runtime).current()
    except FeedNotFound as exc:
        raise HTTPException(404, exc.message) from None
    ev = next((e for e in snap.events.values() if e.seq == seq and not e.withdrawn), None)
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
            "type_label": EVENT_TYPE_LABELS[EventType(ev.type)],
            "quarter": QUARTER_WORDS[ev.quarter],
            "hosts": [snap.orgs[k].short_name for k in ev.hosts],
            "co_organizers": [snap.orgs[k].short_name for k in ev.co_organizers],
            "plan_title": snap.plan_title,
        },
    )
