"""Test helpers for follow-ups: tasks planned on the 2023 plan, links issued, forms posted over real HTTP."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.followups.action_links import link_expiry
from scheduler.followups.checklists import read_checklists
from scheduler.followups.links import LinkSigner
from scheduler.followups.models import Task, TaskKind
from scheduler.followups.sync import plan_followups

KEYS = [secrets.token_urlsafe(32)]  # generated once per run, like a real install's key
RECIPIENT = "rugao.lianluo@example.org"
T_MARCH = datetime(2023, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 Shanghai, 10 March 2023
PAYLOADS = ("<script>alert(1)</script>", "=cmd|' /C calc'!A0", "+1", "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3")


def settings(tmp_path: Any, **over: Any) -> Settings:
    """Settings with the run's generated key and a scratch var dir."""
    return Settings(var_dir=tmp_path, secret_keys=KEYS, base_url="http://127.0.0.1:8000", **over)


def plan(engine: Engine, now: datetime) -> dict[str, Any]:
    """Run follow-up planning once at `now`."""
    with session_scope(engine, write=True) as session:
        return plan_followups(session=session, templates=read_checklists(Settings().checklist_file), now=now).as_dict()


def task_by_key(engine: Engine, key: str) -> Task:
    """Return a stored task by key."""
    with session_scope(engine) as session:
        return session.exec(select(Task).where(Task.key == key)).one()


def issue(engine: Engine, key: str, now: datetime, *, action: TaskKind | None = None,
          recipient: str | None = None, expires_at: datetime | None = None) -> str:
    """Issue a token for the task `key` (its own action unless told; RECIPIENT, else a current contact of it)."""
    from scheduler.followups.action_links import link_recipients

    with session_scope(engine, write=True) as session:
        task = session.exec(select(Task).where(Task.key == key)).one()
        if recipient is None:
            allowed = link_recipients(session=session, task=task)
            recipient = RECIPIENT if RECIPIENT in allowed else min(allowed)
        return LinkSigner(KEYS).issue(session=session, action=action or TaskKind(task.kind),
                                      task_id=task.id or 0, recipient=recipient,
                                      expires_at=expires_at or link_expiry(task, now), now=now)


def form_fields(html: str) -> dict[str, str]:
    """Return the hidden fields of the first form on a page."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def outcome_form(**over: str) -> dict[str, str]:
    """A valid 成效填报 submission with two project rows and one talent row."""
    data = {
        "status": "held", "actual_date": "2023-03-09", "actual_place": "无锡", "filer_name": "张三",
        "filer_contact": "0513-1234567", "attendees": "120", "companies": "45", "universities": "3",
        "p-0-name": "高端纺织新材料项目", "p-0-partner": "某某科技有限公司", "p-0-category": "科创项目",
        "p-0-sign_form": "合同", "p-0-amount": "5000", "p-0-chain": "新材料", "p-0-origin": "无锡",
        "p-0-bankuai": "rugao", "p-0-contact": "李四", "p-0-on_site": "1",
        "p-1-name": "智能装备研发中心", "p-1-partner": "江南大学", "p-1-category": "产学研合作",
        "p-1-sign_form": "意向", "p-1-amount": "", "p-1-bankuai": "rugao",
        "t-0-level": "省市级", "t-0-name": "王五", "t-0-project": "1",
        "narrative": "签约项目 1 个。", "next_steps": "跟踪落地。",
    }
    data.update(over)
    return data


def post_form(client: httpx.Client, path: str, data: dict[str, str], **kw: Any) -> httpx.Response:
    """Open the form (GET) for its nonce, then POST `data` with it, as a browser would."""
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    return client.post(path, data={**form_fields(page.text), **data}, **kw)


def later(moment: datetime, **delta: float) -> datetime:
    """Return `moment` + a timedelta."""
    return moment + timedelta(**delta)
