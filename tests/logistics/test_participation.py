"""Participation services on a real database: opening refuses bad input with located errors, nomination links are
refused when tampered, revoked or expired, and two units racing for the last places never both get them."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import SHANGHAI
from scheduler.db import session_scope
from scheduler.logistics.models import DelegationUnit, Nominee
from scheduler.logistics.participation import (
    NominationResult,
    NominationSigner,
    OpenForm,
    OpenRefused,
    open_participation,
    record_nomination,
)
from scheduler.logistics.tokens import LinkExpired, LinkRefused
from scheduler.plan.models import Event, Occurrence

NOW = datetime(2023, 4, 20, 9, 0, tzinfo=SHANGHAI)
KEYS = ["k" * 32]


def open_seq15(engine: Engine, **over: object) -> None:
    values: dict[str, object] = {"units": ["haian", "rugao"], "capacities": {}, "total_capacity": "3",
                                 "deadline": "2023-05-10", "deadline_time": "17:00", "collect": [], "note": ""}
    with session_scope(engine, write=True) as session:
        event = session.exec(select(Event).where(Event.seq == 15)).one()
        occ = session.exec(select(Occurrence).where(Occurrence.event_id == event.id)).one()
        form = OpenForm(**{**values, **over})  # type: ignore[arg-type]
        open_participation(session=session, occurrence=occ, form=form, actor="admin:office", now=NOW)


def units(engine: Engine) -> dict[str, DelegationUnit]:
    with session_scope(engine) as session:
        return {u.organization_key: u for u in session.exec(select(DelegationUnit))}


def test_opening_refuses_unknown_units_units_without_contacts_and_bad_numbers(mail_engine: Engine) -> None:
    with pytest.raises(OpenRefused) as refused:
        open_seq15(mail_engine, units=["nowhere"], total_capacity="三十", deadline="2023-13-01", collect=["gifts"])
    assert refused.value.errors == {
        "units": "单位“nowhere”不在单位名录中",
        "total_capacity": "总名额“三十”应为 1 至 10000 的整数（不限则留空）",
        "deadline": "报名截止时间“2023-13-01 17:00”无效（如 2023-04-20 17:00）",
        "collect": "未知的收集项：gifts",
    }
    with session_scope(mail_engine) as session:
        assert session.exec(select(DelegationUnit)).all() == []


def test_links_are_refused_when_tampered_revoked_or_for_another_action_and_expire(mail_engine: Engine) -> None:
    open_seq15(mail_engine)
    signer = NominationSigner(KEYS)
    unit = units(mail_engine)["haian"]
    token = signer.token_for(unit)
    with session_scope(mail_engine, write=True) as session:
        assert signer.verify(session=session, token=token, now=NOW).organization_key == "haian"
        for bad in (token[:-2] + "xx", "outcome." + token.split(".", 1)[1], "nomination.",
                    NominationSigner(["z" * 32]).token_for(unit)):
            with pytest.raises(LinkRefused):
                signer.verify(session=session, token=bad, now=NOW)
        with pytest.raises(LinkExpired):
            signer.verify(session=session, token=token, now=unit.link_expires_at)
        stored = session.get(DelegationUnit, unit.id)
        assert stored is not None
        stored.link_revoked_at = NOW
        session.add(stored)
        session.flush()
        with pytest.raises(LinkRefused):
            signer.verify(session=session, token=token, now=NOW)
    # Rotation: a token signed with the old key still verifies once a new key is first in the list.
    with session_scope(mail_engine) as session:
        other = units(mail_engine)["rugao"]
        assert NominationSigner(["n" * 32, *KEYS]).verify(
            session=session, token=signer.token_for(other), now=NOW).id == other.id


def two(prefix: str, mobile_prefix: str) -> dict[str, str]:
    return {f"p{i}-{k}": v for i in range(2) for k, v in
            {"name": f"{prefix}{i}", "role": "工作人员", "mobile": f"{mobile_prefix}0000000{i}"}.items()}


def test_two_units_racing_for_the_last_places_never_both_get_them(mail_engine: Engine) -> None:
    open_seq15(mail_engine)  # total 3: two lists of two cannot both fit
    found = units(mail_engine)
    barrier = threading.Barrier(2)
    results: dict[str, NominationResult] = {}

    def post(key: str, prefix: str, mobile_prefix: str) -> None:
        barrier.wait()
        with session_scope(mail_engine, write=True) as session:
            unit = session.get(DelegationUnit, found[key].id)
            assert unit is not None
            results[key] = record_nomination(session=session, unit=unit, form=two(prefix, mobile_prefix),
                                             now=NOW + timedelta(days=1), actor=key)

    threads = [threading.Thread(target=post, args=a) for a in (("haian", "甲", "138"), ("rugao", "乙", "139"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    outcomes = sorted(bool(r.errors) for r in results.values())
    assert outcomes == [False, True]
    refused = next(r for r in results.values() if r.errors)
    assert refused.errors == {
        "people": "超出总名额：本次活动共 3 人，其他单位已报 2 人，本单位最多还可报 1 人（本次填写 2 人）"}
    with session_scope(mail_engine) as session:
        assert len(session.exec(select(Nominee)).all()) == 2
