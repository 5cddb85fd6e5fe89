"""Logistics arrangements shared by tests: 序号 15 fixed, a confirmed delegation and an accepted guest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import SHANGHAI
from scheduler.db import session_scope
from scheduler.logistics.guests import add_guests, record_answer
from scheduler.logistics.models import DelegationUnit, Guest
from scheduler.logistics.participation import OpenForm, open_participation, record_nomination
from scheduler.logistics.roster import confirm_unit
from scheduler.plan.models import Event, Occurrence, OccurrenceStatus

T_OPEN = datetime(2023, 4, 20, 9, 0, tzinfo=SHANGHAI)
T_DAY = datetime(2023, 5, 18, 9, 0, tzinfo=SHANGHAI)
PEOPLE = [("周领队", "带队领导", "海安市"), ("钱经理", "企业代表", "甲公司"), ("孙总", "企业代表", "乙公司"),
          ("李工", "企业代表", "甲公司"), ("吴干事", "工作人员", "海安市")]


def arrange(engine: Engine) -> int:
    """序号 15 fixed on 05-18, 海安 nominated five people (confirmed), one guest accepted with one companion."""
    with session_scope(engine, write=True) as session:
        event = session.exec(select(Event).where(Event.seq == 15)).one()
        occ = session.exec(select(Occurrence).where(Occurrence.event_id == event.id)).one()
        occ.start_at, occ.end_at = datetime(2023, 5, 18, 1, 30, tzinfo=SHANGHAI), T_DAY.replace(hour=17)
        occ.status, occ.sequence = OccurrenceStatus.FIXED, occ.sequence + 1
        session.add(occ)
        participation = open_participation(session=session, occurrence=occ, actor="admin:office", now=T_OPEN,
                                           form=OpenForm(units=["haian"], capacities={}, total_capacity="",
                                                         deadline="2023-05-10", deadline_time="17:00", collect=[],
                                                         note=""))
        unit = session.exec(select(DelegationUnit)).one()
        form = {f"p{i}-{k}": v for i, (name, role, org) in enumerate(PEOPLE) for k, v in
                {"name": name, "role": role, "org": org, "mobile": f"1380000100{i}"}.items()}
        assert not record_nomination(session=session, unit=unit, form=form, now=T_OPEN, actor="haian").errors
        confirm_unit(session=session, participation=participation, unit_id=unit.id or 0, actor="admin:office",
                     now=T_OPEN)
        add_guests(session=session, participation=participation, text="张院士，某研究所，zhang@example.ac.cn",
                   actor="admin:office", now=T_OPEN)
        guest = session.exec(select(Guest)).one()
        assert record_answer(session=session, guest=guest, form={"answer": "accepted", "companions": "1"},
                             now=T_OPEN).status == "accepted"
        return occ.id or 0
