"""Occurrences → deterministic iCalendar bytes: one VEVENT per occurrence, whole feeds, single-event calendars.

A feed covers one or several plans (all.ics: those running on the day); its header names them, and each
VEVENT links to its own plan's page, /events/{plan_key}/{seq}.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from functools import cached_property
from typing import cast

from icalendar import Event as IcsEvent
from icalendar import vCalAddress
from sqlmodel import Session

from scheduler.clock import SHANGHAI, local_date
from scheduler.feeds.filters import FeedSpec, event_matcher, selected_plans, spec_label
from scheduler.feeds.ics import CALENDAR_END, calendar_head, component_bytes, ics_text
from scheduler.feeds.snapshot import EventRec, OccRec, OrgRec, PlanRec, PlanSnapshot, load_snapshot
from scheduler.plan.models import STATUS_LABELS, Occurrence, OccurrenceStatus, Precision
from scheduler.plan.rows import occurrence_when
from scheduler.plan.windows import QUARTER_WORDS, format_window

VEventKey = tuple[object, ...]
NO_RUNNING_PLAN = "科技招商活动安排（目前没有进行中的年度计划）"
# A fixed event whose plan states no end: feeds and invitations alike end it this long after its start, so the
# VEVENT a subscriber sees and the invitation with the same UID and SEQUENCE agree (docs/feeds.md).
DEFAULT_EVENT_LENGTH = timedelta(hours=2)


@dataclass(frozen=True)
class Party:
    """A calendar user of an iTIP message: an address and the name people read (CN)."""

    email: str
    name: str = ""


def _address(party: Party, **params: str) -> vCalAddress:
    value = vCalAddress(f"mailto:{party.email}")
    if party.name:
        value.params["CN"] = ics_text(party.name)
    for key, param in params.items():
        value.params[key.replace("_", "-").upper()] = param
    return value


@dataclass
class RenderedFeed:
    """The bytes of one feed with its validators; gzip is computed on first use."""

    body: bytes
    last_modified: datetime
    event_count: int
    etag: str = field(init=False)
    last_modified_http: str = field(init=False)

    def __post_init__(self) -> None:
        self.etag = f'"{hashlib.sha256(self.body).hexdigest()[:40]}"'
        self.last_modified = self.last_modified.astimezone(UTC)
        self.last_modified_http = format_datetime(self.last_modified.replace(microsecond=0), usegmt=True)

    @cached_property
    def gzip_body(self) -> bytes:
        return gzip.compress(self.body, compresslevel=6, mtime=0)

    @cached_property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gz"'


def is_cancelled(occ: OccRec, ev: EventRec) -> bool:
    """Tell whether the occurrence is off: cancelled, or withdrawn from the plan (shown as cancelled)."""
    return occ.status == OccurrenceStatus.CANCELLED or occ.withdrawn or ev.withdrawn


def is_year_round(occ: OccRec) -> bool:
    """Tell whether the occurrence is a whole-year item with no fixed date (never a 365-day banner)."""
    return occ.precision == Precision.YEAR and occ.start_at is None


def last_day(occ: OccRec) -> date:
    """Return the last Shanghai day the occurrence covers."""
    if occ.start_at is not None:
        return local_date(occ.end_at or occ.start_at)
    return occ.window_end


def when_text(occ: OccRec) -> str:
    """Say when it happens, in Chinese: the fixed time as the plan page writes it, else the window."""
    if occ.start_at is None:
        return f"时间待定（{format_window(occ.window_start, occ.window_end, occ.precision)}），主办单位定档后更新"
    return occurrence_when(cast(Occurrence, occ))  # it reads only the time fields an OccRec has too


def summary(occ: OccRec, ev: EventRec) -> str:
    """Return the visible title with its 【已取消】 or 【时间待定·…】 prefix."""
    title = occ.title
    if ev.session_count > 1 and occ.title not in ev.title and ev.title not in occ.title:
        title = f"{ev.title}·{occ.title}"
    if is_cancelled(occ, ev):
        return f"【已取消】{title}"
    if occ.start_at is None:
        return f"【时间待定·{format_window(occ.window_start, occ.window_end, occ.precision)}】{title}"
    return title


def event_path(ev: EventRec) -> str:
    """Return the site path of a plan row's public page (plan-aware: 序号 repeat across plans)."""
    return f"/events/{ev.plan_key}/{ev.seq}"


def plans_title(plans: list[PlanRec]) -> str:
    """Name the plans a feed covers in Chinese: one plan's title, '2026—2027年…' for a run of years, else a list."""
    titles = list(dict.fromkeys(p.title for p in plans))
    if len(titles) <= 1:
        return titles[0] if titles else NO_RUNNING_PLAN
    years = sorted(p.year for p in plans)
    rests = {p.title.removeprefix(f"{p.year}年") for p in plans if p.title.startswith(f"{p.year}年")}
    if len(rests) != 1 or len(set(years)) != len(plans):
        return "、".join(titles)
    consecutive = years == list(range(years[0], years[-1] + 1))
    span = f"{years[0]}—{years[-1]}" if consecutive else "、".join(map(str, years))
    return f"{span}年{rests.pop()}"


def _names(keys: tuple[str, ...], orgs: dict[str, OrgRec]) -> str:
    return "、".join(orgs[k].short_name for k in keys)


def description(occ: OccRec, ev: EventRec, snap: PlanSnapshot, *, url: str, private: bool) -> str:
    """Return the DESCRIPTION text: content, time, place, organizations, type/theme, link."""
    lines = [ev.content] if ev.content.strip() and ev.content != occ.title else []
    lines += [f"时间：{when_text(occ)}", f"地点：{occ.location}", f"主办单位：{_names(ev.hosts, snap.orgs)}"]
    if ev.co_organizers:
        lines.append(f"承办（配合）单位：{_names(ev.co_organizers, snap.orgs)}")
    kind = snap.type_label(ev)
    lines.append(f"活动类型：{kind}（主题：{ev.theme}）" if ev.theme else f"活动类型：{kind}")
    if ev.chains:
        lines.append(f"产业链：{'、'.join(ev.chains)}")
    lines.append(f"计划序号：第{ev.seq}项（{QUARTER_WORDS[ev.quarter]}季度）")
    if is_cancelled(occ, ev):
        lines.append("状态：已取消" if not occ.withdrawn and not ev.withdrawn else "状态：已从计划中撤下")
    elif occ.status == OccurrenceStatus.POSTPONED:
        lines.append("状态：已延期")
    if private:
        lines.append(f"定档状态：{STATUS_LABELS[OccurrenceStatus(occ.status)]}（计划原文：{occ.date_text}）")
        if occ.status_reason:
            lines.append(f"内部备注：{occ.status_reason}")
        lines.append(f"场次编号：{occ.key}，第{occ.sequence}次修订")
    lines.append(f"详情：{url}")
    return "\n".join(lines)


def render_vevent(
    occ: OccRec,
    ev: EventRec,
    snap: PlanSnapshot,
    *,
    base_url: str,
    private: bool = False,
    organizer: Party | None = None,
    attendee: Party | None = None,
    default_length: timedelta = DEFAULT_EVENT_LENGTH,
) -> bytes:
    """Return the bytes of one VEVENT (icalendar); identical data gives identical bytes.

    With an `organizer` and an `attendee` it is the VEVENT of an iTIP invitation (RFC 5546) to that attendee.
    """
    stamp = max(occ.updated_at, ev.updated_at).astimezone(UTC)
    cancelled = is_cancelled(occ, ev)
    url = base_url.rstrip("/") + event_path(ev)
    vevent = IcsEvent()
    vevent.add("uid", occ.uid)
    vevent.add("sequence", occ.sequence)
    vevent.add("dtstamp", stamp)
    vevent.add("created", occ.created_at.astimezone(UTC))
    vevent.add("last-modified", stamp)
    if organizer is not None:  # iTIP REQUEST/CANCEL needs an ORGANIZER
        vevent.add("organizer", _address(organizer))
    if attendee is not None:  # nobody is asked to answer: the plan, not the invitation, says who takes part
        vevent.add("attendee", _address(attendee, role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp="FALSE"))
    vevent.add("summary", ics_text(summary(occ, ev)))
    categories = []
    if occ.start_at is None:
        vevent.add("dtstart", occ.window_start)
        vevent.add("dtend", occ.window_end + timedelta(days=1))  # DTEND of an all-day item is exclusive
        status, transp, busy = "TENTATIVE", "TRANSPARENT", "FREE"
        categories.append("时间待定")
    else:
        vevent.add("dtstart", occ.start_at.astimezone(SHANGHAI))
        end = occ.end_at if occ.end_at is not None else occ.start_at + default_length
        vevent.add("dtend", end.astimezone(SHANGHAI))
        status, transp, busy = "CONFIRMED", "OPAQUE", "BUSY"
    if cancelled:
        status, transp, busy = "CANCELLED", "TRANSPARENT", "FREE"
        categories.insert(0, "已取消")
    categories.append(snap.type_label(ev))
    if ev.theme:
        categories.append(ev.theme)
    vevent.add("location", ics_text(occ.location))
    vevent.add("status", status)
    vevent.add("transp", transp)
    vevent.add("x-microsoft-cdo-busystatus", busy)
    vevent.add("categories", [ics_text(c) for c in categories])
    vevent.add("class", "PRIVATE" if private else "PUBLIC")
    vevent.add("url", url)
    vevent.add("description", ics_text(description(occ, ev, snap, url=url, private=private)))
    return component_bytes(vevent)


def _day_after(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def calendar_description(title: str, base_url: str) -> str:
    """Return X-WR-CALDESC: what the feed holds and how windows, cancellations and year-round items show."""
    return (
        f"{title}。时间待定的活动显示为全天“时间待定”条目（不占忙闲），定档后更新为具体时间；"
        "取消的活动保留【已取消】标记至原定日期。全年常态化活动不进日历，见订阅页 "
        f"{base_url.rstrip('/')}/subscribe"
    )


def render_feed(
    snap: PlanSnapshot,
    spec: FeedSpec,
    *,
    now: datetime,
    base_url: str,
    vevent_cache: MutableMapping[VEventKey, bytes] | None = None,
    default_length: timedelta = DEFAULT_EVENT_LENGTH,
) -> RenderedFeed:
    """Render one feed; VEVENT bytes are reused from `vevent_cache` when their record is unchanged."""
    today = local_date(now)
    plans = selected_plans(spec, snap, today)
    keeps = event_matcher(spec, snap, today=today)
    # plan and organization rows appear in every VEVENT; the default length shapes events without an end
    context = (spec.private, base_url, snap.version[:4], default_length)
    modified = [p.updated_at for p in plans]
    if not spec.plans:  # the feed changed when a plan started or stopped running
        changes = [d for p in snap.plans.values() if (d := p.last_change_of_running(today)) is not None]
        modified += [datetime.combine(d, time(0), tzinfo=SHANGHAI) for d in changes]
    if not modified:
        modified = [min(p.updated_at for p in snap.plans.values())]
    chunks: list[bytes] = []
    for occ in snap.occurrences:
        if not keeps[occ.event_id] or is_year_round(occ) or (not spec.windows and occ.start_at is None):
            continue
        ev = snap.events[occ.event_id]
        modified.append(max(occ.updated_at, ev.updated_at))
        if is_cancelled(occ, ev) and last_day(occ) < today:
            modified.append(_day_after(last_day(occ)))  # it left the feed then: the feed changed
            continue
        key = (occ.uid, occ.sequence, occ.updated_at, ev.updated_at, context)
        vevent = vevent_cache.get(key) if vevent_cache is not None else None
        if vevent is None:
            vevent = render_vevent(occ, ev, snap, base_url=base_url, private=spec.private,
                                   default_length=default_length)
            if vevent_cache is not None:
                vevent_cache[key] = vevent
        chunks.append(vevent)
    label = spec_label(spec, snap, plans)
    title = plans_title(plans)
    name = title + (f"·{label}" if label else "") + ("（内部）" if spec.private else "")
    head = calendar_head(name=name, description=calendar_description(title, base_url))
    body = b"".join([head, *chunks, CALENDAR_END])
    return RenderedFeed(body=body, last_modified=max(modified), event_count=len(chunks))


def render_single(
    snap: PlanSnapshot,
    occ: OccRec,
    *,
    base_url: str,
    method: str = "PUBLISH",
    organizer: Party | None = None,
    attendee: Party | None = None,
    private: bool = False,
    default_length: timedelta = DEFAULT_EVENT_LENGTH,
) -> bytes:
    """Return a VCALENDAR with exactly this occurrence's VEVENT (for mail attachments: PUBLISH, REQUEST, CANCEL)."""
    ev = snap.events[occ.event_id]
    vevent = render_vevent(occ, ev, snap, base_url=base_url, private=private, organizer=organizer,
                           attendee=attendee, default_length=default_length)
    name = summary(occ, ev)
    description = calendar_description(snap.plans[occ.plan_id].title, base_url)
    head = calendar_head(name=name, description=description, method=method)
    return head + vevent + CALENDAR_END


def occurrence_calendar(
    *,
    session: Session,
    uid: str,
    base_url: str,
    method: str = "PUBLISH",
    organizer: Party | None = None,
    private: bool = False,
) -> bytes:
    """Return the .ics bytes of one occurrence (same VEVENT as in the feeds), e.g. for a mail attachment."""
    snap = load_snapshot(session=session)
    occ = snap.occurrence_by_uid().get(uid) if snap is not None else None
    if snap is None or occ is None:
        raise LookupError(f"没有 UID 为 {uid} 的活动场次")
    return render_single(snap, occ, base_url=base_url, method=method, organizer=organizer, private=private)
