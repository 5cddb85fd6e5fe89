"""The plan's vocabulary in its header: office unit (default kjj only when listed), chains (default: the 2023
notice's six), 板块; read from JSON and from the 「计划信息」 sheet, stored on the plan, kept through export."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.db import session_scope
from scheduler.plan.export import stored_plan, write_xlsx
from scheduler.plan.importer import import_plan
from scheduler.plan.models import Plan
from scheduler.plan.seed import PlanFile, parse_plan_bytes
from scheduler.plan.sheet import read_plan_table
from scheduler.plan.vocabulary import chains_in, plan_bankuai
from scheduler.validation import InputInvalid
from tests.factories.cities import CHAINS, OFFICE, second_city_plan, second_city_raw
from tests.support.instants import NOTICE_DATE
from tests.support.planbooks import workbook

NOTICE_CHAINS = ["船舶海工", "新一代信息技术", "高端装备", "新材料", "新能源", "生物医药"]  # 2023 notice, 一/（三）


def parse(raw: dict[str, Any]) -> PlanFile:
    return parse_plan_bytes(json.dumps(raw, ensure_ascii=False).encode(), source="p.json")


def errors(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(InputInvalid) as info:
        parse(raw)
    return [str(e) for e in info.value.errors]


def test_the_seed_names_its_office_and_chains(seed_doc: PlanFile) -> None:
    assert seed_doc.plan.office == "kjj" and seed_doc.plan.chains == NOTICE_CHAINS and seed_doc.plan.bankuai is None


def test_a_file_without_office_or_chains_gets_kjj_and_the_notice_chains_when_it_lists_kjj() -> None:
    raw = second_city_raw(office=None)
    raw["plan"].pop("chains")
    for ev in raw["events"]:
        ev["chains"] = []
    doc = parse(raw)
    assert doc.plan.office == "kjj" and doc.plan.chains == NOTICE_CHAINS


def test_a_file_without_office_and_without_a_kjj_unit_is_refused_at_plan_office() -> None:
    raw = second_city_raw(office=None)
    kjj = next(o for o in raw["organizations"] if o["id"] == "kjj")
    kjj["id"] = "nt-kjj"
    for org in raw["organizations"]:
        org["members"] = ["nt-kjj" if k == "kjj" else k for k in org.get("members", [])]
    for ev in raw["events"]:
        for role in ("hosts", "co_organizers"):
            ev[role] = ["nt-kjj" if k == "kjj" else k for k in ev.get(role, [])]
    got = errors(raw)
    assert len(got) == 1 and got[0].startswith("plan.office: 未填写牵头办公室单位") and "kjj" in got[0]


def test_office_chains_and_bankuai_are_checked_against_the_file() -> None:
    raw = second_city_raw(office="no-such-unit")
    raw["plan"]["chains"] = ["集成电路", "集成电路"]
    raw["plan"]["bankuai"] = ["rugao", "mars", "all-districts"]
    raw["events"][1]["chains"] = ["船舶海工"]
    got = errors(raw)
    role = "牵头办公室单位（接收定档升级提醒、逾期任务周报和月度报表邮件）"
    assert f"plan.office: 未知机构 id 'no-such-unit'（{role}）" in got
    assert "plan.chains: 产业链 '集成电路' 重复" in got
    assert "plan.bankuai[1]: 未知机构 id 'mars'" in got
    assert "plan.bankuai[2]: 'all-districts' 是群组，板块应为单个单位" in got
    assert "events[1].chains[0]: 未知产业链 '船舶海工'（计划的产业链：集成电路、集成电路；可在 plan.chains 中增加）" \
        in got


def test_chain_detection_reads_the_plans_own_chains() -> None:
    text = ["集成电路与生物医药产业对接会", "船舶海工"]
    assert chains_in(text, CHAINS) == ["集成电路", "生物医药"]
    assert chains_in(text, NOTICE_CHAINS) == ["新一代信息技术", "生物医药", "船舶海工"]  # 集成电路: an alias


def test_the_info_sheet_gives_office_chains_and_bankuai_by_name(seed_doc: PlanFile) -> None:
    info = [["项目", "值"], ["牵头办公室", "某某市科技局"], ["产业链", "集成电路、生物医药"],
            ["板块", "如皋市、如东县"]]
    rows: list[list[Any]] = [
        ["第一季度"],
        [1, "上海", "集成电路专场推介会", "推介", "2027年2月", "如皋市", "—", "板块招商活动"],
    ]
    units = [*seed_doc.organizations, second_city_plan().organizations[-1]]
    doc = read_plan_table(workbook(rows, extra={"计划信息": info}), source="xx.xlsx", organizations=units)
    vocabulary = (doc.plan.office, doc.plan.chains, doc.plan.bankuai)
    assert vocabulary == (OFFICE, ["集成电路", "生物医药"], ["rugao", "rudong"])
    assert doc.events[0].chains == ["集成电路"], "detected from the plan's own chains"
    bad = [["项目", "值"], ["牵头办公室", "某某市科技厅"]]
    with pytest.raises(InputInvalid) as info_error:
        read_plan_table(workbook(rows, extra={"计划信息": bad}), source="xx.xlsx", organizations=units)
    assert [str(e) for e in info_error.value.errors] == ["计划信息!B2：未知单位“某某市科技厅”（是否指 某某市科技局？）"]


def test_the_plan_stores_its_vocabulary_and_exports_it(engine: Engine) -> None:
    doc = second_city_plan()
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=doc, now=NOTICE_DATE)
        plan = session.exec(select(Plan)).one()
        assert (plan.office, plan.chains, plan.bankuai) == (OFFICE, CHAINS, [])
        # No list given: every district and park unit the plan lists (groups excluded), 4 parks and 7 districts.
        assert plan_bankuai(session=session, plan=plan) == sorted(
            ["haian", "rugao", "rudong", "qidong", "chongchuan", "tongzhou", "haimen", "kfq", "sxt", "tzw", "cxq"])
        exported = stored_plan(session=session, key="xx-2027")
    assert exported is not None
    data, _ = write_xlsx(exported)
    back = read_plan_table(data, source="back.xlsx")
    assert (back.plan.office, back.plan.chains, back.plan.bankuai) == (OFFICE, CHAINS, None)
    with session_scope(engine, write=True) as session:
        assert import_plan(session=session, doc=back, now=NOTICE_DATE).counts["plan.unchanged"] == 1


def test_a_plan_upgraded_without_an_office_takes_the_files_on_the_next_import(engine: Engine) -> None:
    doc = second_city_plan()
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=doc, now=NOTICE_DATE)
        plan = session.exec(select(Plan)).one()
        # As 0010_plan_vocabulary leaves a plan stored before it: no memory of the new fields, kjj guessed.
        plan.office, plan.chains = "kjj", NOTICE_CHAINS
        plan.imported = {k: v for k, v in plan.imported.items() if k not in ("office", "chains", "bankuai")}
    with session_scope(engine, write=True) as session:
        report = import_plan(session=session, doc=doc, now=NOTICE_DATE)
        plan = session.exec(select(Plan)).one()
        assert (plan.office, plan.chains) == (OFFICE, CHAINS) and report.counts["plan.updated"] == 1
        assert report.conflicts == []
    with session_scope(engine, write=True) as session:
        assert import_plan(session=session, doc=doc, now=NOTICE_DATE).changes == 0
