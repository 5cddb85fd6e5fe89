"""The 2023 seed against 附件4 and 附件1 of 通政办发〔2023〕11号, row by row.

The expected table below was typed from /work/shared/source/notice-2023-11.txt by hand, independently of the
seed and of the date parser: windows are spelled out as calendar dates here, never parsed.
"""

from __future__ import annotations

import calendar
import json
from datetime import date
from typing import Any

import pytest

from scheduler.config import DEFAULT_SEED
from scheduler.plan.seed import PlanFile

Y = 2023
SERIES = "jianghai-chuangtouxing"


def m(month: int) -> tuple[date, date, str]:
    """One calendar month of 2023."""
    return date(Y, month, 1), date(Y, month, calendar.monthrange(Y, month)[1]), "month"


def mr(first: int, last: int) -> tuple[date, date, str]:
    """A month range of 2023 (2023年2-3月)."""
    return date(Y, first, 1), date(Y, last, calendar.monthrange(Y, last)[1]), "month_range"


def q(quarter: int) -> tuple[date, date, str]:
    """A quarter of 2023 (三季度)."""
    last = quarter * 3
    return date(Y, last - 2, 1), date(Y, last, calendar.monthrange(Y, last)[1]), "quarter"


WHOLE_YEAR = (date(Y, 1, 1), date(Y, 12, 31), "year")
T, CC, CS, D = "quarterly_theme", "city_coordinated", "city_service", "district"
KJJ, JR, KC = "kjj", "jrj", "kctz"
TT = "univ-tt-centers"
DIST = "all-districts"

# seq: (quarter, type, theme, title, hosts, co_organizers, [(location, window, title contains), ...])
EXPECTED: dict[int, tuple[int, str, str | None, str, list[str], list[str], list[tuple[str, Any, str]]]] = {
    # 第一季度
    1: (1, T, "科技成果", "东部中心 南通重点产业链科技成果对接洽谈会", [KJJ], ["dbzx"], [("南通", mr(2, 3), "")]),
    2: (1, CC, None, "高校院所 南通重点产业链产学研、科技成果对接洽谈会", [KJJ], [TT],
        [("南通", m(2), "华东理工大学"), ("南通", m(3), "大连理工大学")]),
    3: (1, CS, None, "江海创投行 科创基金园区行", [JR, KC], [], [("南通", m(2), "")]),
    4: (1, D, None, "如皋—江南大学校企对接活动", ["rugao"], [], [("无锡", m(3), "")]),
    5: (1, D, None, "如东（天津）海上风电科创项目对接会", ["rudong"], [], [("天津", m(3), "")]),
    6: (1, D, None, "科技招商推介会", ["qidong"], [], [("上海", m(3), "")]),
    7: (1, D, None, "崇川（上海）战略性新兴产业发展大会", ["chongchuan"], [], [("上海", m(2), "")]),
    8: (1, D, None, "通州—上海科技招商推介会", ["tongzhou"], [], [("上海", mr(1, 3), "")]),
    9: (1, D, None, "江苏省船舶与海洋工程装备技术创新中心项目推介会", [KJJ], ["haimen-kjj"], [("海门", mr(1, 3), "")]),
    10: (1, D, None, "科创项目南通对接会", ["kfq"], [], [("开发区", mr(1, 2), "")]),
    11: (1, D, None, "南通创新区—上海科技招商推介会", ["cxq"], ["tct"], [("上海", m(3), "")]),
    12: (1, D, None, "杰出科技企业家走进创新区暨2023年亚杰商会春季峰会", ["cxq"], ["tct"], [("南通", m(3), "")]),
    # 第二季度
    13: (2, T, "科创项目", "沿江科创带（上海）投资合作恳谈会", [KJJ], [DIST, "yanjiang-parks"], [("上海", m(5), "")]),
    14: (2, CC, None, "高校院所南通重点产业链科技成果对接洽谈会", [KJJ], [TT],
         [("南通", m(4), "上海应用技术大学"), ("南通", m(5), "东南大学"), ("南通", m(6), "武汉理工大学")]),
    15: (2, CC, None, "南通-武汉地区高校科技成果对接洽谈会", [KJJ], [DIST], [("武汉", m(5), "")]),
    16: (2, CC, None, "境外科技招商活动", [KJJ], [], [("日韩、欧美", q(2), "")]),
    17: (2, CS, None, "江海创投行 科创基金园区行", [JR, KC], [], [("南通", m(4), ""), ("南通", m(6), "")]),
    18: (2, D, None, "第十届创新创业在海安主题活动", ["haian"], [], [("海安", m(5), "")]),
    19: (2, D, None, "如东（深圳）新一代信息技术及高层次人才对接专场活动", ["rudong"], [], [("深圳", m(5), "")]),
    20: (2, D, None, "科技招商推介会", ["qidong"], [], [("南京", m(6), "")]),
    21: (2, D, None, "上海—崇川科创产业资源对接会", ["chongchuan"], [], [("上海", m(5), "")]),
    22: (2, D, None, "通州—合肥校企合作对接会", ["tongzhou"], [], [("合肥", m(5), "")]),
    23: (2, D, None, "科创项目专题招商推介会", ["haimen"], [], [("武汉", m(5), "")]),
    24: (2, D, None, "沪通科技招商推介恳谈会", ["tzw"], [], [("上海", m(6), "")]),
    # 第三季度
    25: (3, T, "平台载体", "科技招商小型推介会", [KJJ], [DIST],
         [("北京", q(3), "北京"), ("深圳", q(3), "深圳"), ("西安", q(3), "西安")]),
    26: (3, CC, None, "高校院所南通重点产业链产学研、科技成果对接洽谈会", [KJJ], [TT],
         [("南通", m(7), "上海交通大学"), ("南通", m(8), "同济大学"), ("南通", m(9), "上海理工大学")]),
    27: (3, CC, None, "境外科技招商活动", [KJJ], [], [("德国、沙特", q(3), "")]),
    28: (3, CS, None, "江海创投行 科创基金园区行", [JR, KC], [], [("南通", m(8), "")]),
    29: (3, D, None, "如皋—高校院所产学研、科技成果对接洽谈会", ["rugao"], [], [("南京", m(7), "")]),
    30: (3, D, None, "如东（上海）电子化学品、纤维新材料产业推介会", ["rudong"], [], [("上海", q(3), "")]),
    31: (3, D, None, "科创项目专题推介会", ["qidong"], [],
         [("上海", mr(7, 9), "复旦大学微电子学院"), ("南京", mr(7, 9), "江苏科技大学")]),
    32: (3, D, None, "西安科创产业招商周 深圳科创产业推介会", ["chongchuan"], [],
         [("西安", m(9), "西安科创产业招商周"), ("深圳", mr(7, 9), "深圳科创产业推介会")]),
    33: (3, D, None, "通州—杭州科技招商 恳谈会", ["tongzhou"], [], [("杭州", mr(7, 9), "")]),
    34: (3, D, None, "科创项目专题招商推介会", ["haimen"], [], [("深圳", m(9), "")]),
    35: (3, D, None, "粤港澳地区招商推介恳谈会", ["tzw"], [], [("华南", m(9), "")]),
    36: (3, D, None, "南通创新区—北京新一代信息技术专题产业交流会", ["cxq"], [], [("北京", mr(6, 7), "")]),
    # 第四季度
    37: (4, T, "科技人才", "江海英才创业周", ["rcb"], ["all-departments", "all-bankuai"], [("南通", mr(10, 11), "")]),
    38: (4, CC, None, "高校院所南通重点产业链产学研、科技成果对接洽谈会", [KJJ], [TT],
         [("南通", m(10), "西安交通大学"), ("南通", m(11), "东部中心")]),
    39: (4, CC, None, "西安交通大学南通生物医药科技成果对接洽谈会", [KJJ], [DIST], [("西安", m(10), "")]),
    40: (4, CS, None, "江海创投行 科创基金园区行", [JR, KC], [], [("南通", m(10), ""), ("南通", m(12), "")]),
    41: (4, D, None, "两院专家走进海安主题活动", ["haian"], [], [("海安", m(12), "")]),
    42: (4, D, None, "科技人才洽谈会", ["rugao"], [], [("如皋", m(10), "")]),
    43: (4, D, None, "中国如东科技人才节", ["rudong"], [], [("如东", m(11), "")]),
    44: (4, D, None, "科技人才节暨投资洽谈会", ["qidong"], [], [("启东", m(11), "")]),
    45: (4, D, None, "智汇崇川创新创业峰会", ["chongchuan"], [], [("崇川", m(11), "")]),
    46: (4, D, None, "通州区高端产业与高层次人才项目合作洽谈会", ["tongzhou"], [], [("通州", m(11), "")]),
    47: (4, D, None, "金融惠企“下午茶”", ["sxt"], [], [("苏锡通园区", WHOLE_YEAR, "")]),
    48: (4, D, None, "南通创新区—北京促进会 南通创新区—深圳推介会", ["cxq"], [],
         [("北京", mr(10, 11), "北京"), ("深圳", mr(10, 11), "深圳")]),
}

# The 日期 cell of every row as the PDF text writes it (white space between runs collapsed to one space).
DATE_TEXTS = {
    1: "2023 年 2-3 月", 2: "2023 年 2 月 2023 年 3 月", 3: "每两月", 4: "2023 年 3 月", 5: "2023 年 3 月",
    6: "2023 年 3 月", 7: "2023 年 2 月", 8: "2023 年 1-3 月", 9: "2023 年 1-3 月", 10: "2023年1-2月",
    11: "2023年3月", 12: "2023年3月", 13: "2023年5月", 14: "2023年4月 2023年5月 2023年6月", 15: "2023年5月",
    16: "二季度", 17: "每两月", 18: "2023年5月", 19: "2023年5月", 20: "2023年6月", 21: "2023年5月",
    22: "2023年5月", 23: "2023年5月", 24: "2023年6月", 25: "三季度", 26: "2023年7月 2023年8月 2023年9月",
    27: "三季度", 28: "每两月", 29: "2023年7月", 30: "三季度", 31: "2023年7-9月", 32: "2023年9月 2023年7-9月",
    33: "2023年7-9月", 34: "2023年9月", 35: "2023年9月", 36: "2023年6-7月", 37: "2023年10-11月",
    38: "2023年10月 2023年11月", 39: "2023年10月", 40: "每两月", 41: "2023年12月", 42: "2023年10月",
    43: "2023年11月", 44: "2023年11月", 45: "2023年11月", 46: "2023年11月", 47: "2023年全年", 48: "2023年10-11月",
}

# 附件1 二、成员单位职责, verbatim; 13 applies to every 县（市、区） and park.
DUTIES = {
    "zzb": "负责建立“双招双引”联动机制，指导板块、园区导入高层次人才项目。",
    "fgw": "负责产业升级需求与科技招商的对接。",
    "jyj": "负责指导板块、园区与有关高校的合作对接。",
    "gxj": "牵头重点产业链、创新链“双链融合”，负责指导各板块明确重点产业链发展方向。",
    "czj": "负责统筹保障市级科技招商工作经费。",
    "rsj": "负责指导板块、园区导入高层次专业技术人才。",
    "zrzyj": "负责指导板块、园区保障符合条件的科技型企业用地需求和配套用地需求。",
    "swj": "负责将科技招商列入全年招商工作计划，指导板块、园区积极对接高校、科研院所、科技服务机构，"
    "并将其纳入各类招商、推介活动目标对象。",
    "xzspj": "负责指导板块、园区优化科技型企业涉及市场准入、投资管理等方面的行政审批流程。",
    "scjgj": "负责统筹协调科技型企业的知识产权创造、运用、评估和保护。",
    "kctz": "负责国内外知名创投机构的引进、合作，负责科技招商项目的基金资源供给。",
    "rcfz": "负责绘制全球科技人才地图，引进高层次产业人才项目，优化人才公共服务。",
}
DISTRICTS = {"haian": "海安市", "rugao": "如皋市", "rudong": "如东县", "qidong": "启东市", "chongchuan": "崇川区",
             "tongzhou": "通州区", "haimen": "海门区"}
PARKS = {"kfq": "南通开发区", "sxt": "苏锡通园区", "tzw": "通州湾示范区", "cxq": "南通创新区"}
for _key in (*DISTRICTS, *PARKS):
    DUTIES[_key] = "负责科技招商工作的具体实施。"
# The office of the leading group sits in 市科技局 (附件1 一); its duties are the office's, verbatim.
KJJ_DUTY = (
    "办公室负责科技招商工作的组织推进，定期汇总通报各县（市、区）科技招商工作进展情况，组织实施科创项目考核，"
    "组建由相关市级部门业务负责人、县（市、区）与园区科技部门负责人、产业链链主企业技术人员、市区相关园区科技招商"
    "人员组成的市级科技招商工作专班，完成推进领导小组交办的各项工作。"
)


# The 地点 cell where it names several places; every other row names the one place its session has.
LOCATIONS = {16: ["日韩", "欧美"], 25: ["北京", "深圳", "西安"], 27: ["德国", "沙特"], 31: ["上海", "南京"],
             32: ["西安", "深圳"], 48: ["北京", "深圳"]}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def events(seed_doc: PlanFile) -> dict[int, Any]:
    return {e.seq: e for e in seed_doc.events}


def test_plan_header(seed_doc: PlanFile) -> None:
    p = seed_doc.plan
    assert (p.year, p.published, p.timezone) == (2023, date(2023, 1, 22), "Asia/Shanghai")
    assert p.themes == {"1": "科技成果", "2": "科创项目", "3": "平台载体", "4": "科技人才"}
    assert "通政办发〔2023〕11号" in p.source and "附件4" in p.source


def test_all_48_rows_in_order_with_61_sessions(seed_doc: PlanFile) -> None:
    assert [e.seq for e in seed_doc.events] == list(range(1, 49))
    assert sum(len(e.sessions) for e in seed_doc.events) == 61
    assert sum(len(s) for *_, s in EXPECTED.values()) == 61


@pytest.mark.parametrize("seq", sorted(EXPECTED))
def test_row_matches_source(seq: int, events: dict[int, Any]) -> None:
    quarter, kind, theme, title, hosts, co_organizers, sessions = EXPECTED[seq]
    ev = events[seq]
    assert (ev.quarter, str(ev.type), ev.theme) == (quarter, kind, theme)
    assert ev.title == title
    assert list(ev.hosts) == hosts
    assert list(ev.co_organizers) == co_organizers
    assert " ".join(ev.date_text.split()) == DATE_TEXTS[seq]
    assert list(ev.locations) == LOCATIONS.get(seq, [sessions[0][0]])
    got = [(s.location, (s.start, s.end, str(s.precision))) for s in ev.sessions]
    assert got == [(loc, window) for loc, window, _ in sessions]
    for sess, (_, _, needle) in zip(ev.sessions, sessions, strict=True):
        assert needle in sess.title
    for sess in ev.sessions:
        assert sess.start_at is None and sess.end_at is None  # nothing is fixed in the published plan
    assert (ev.series == SERIES) == (seq in {3, 17, 28, 40})


def test_row_9_is_a_district_activity_hosted_by_the_city(events: dict[int, Any], seed_doc: PlanFile) -> None:
    """板块招商活动 by the merged type cell of rows 4-12, though 南通市科技局 hosts and 海门区科技局 co-organizes."""
    ev = events[9]
    assert str(ev.type) == "district" and ev.hosts == ["kjj"] and ev.co_organizers == ["haimen-kjj"]
    orgs = {o.id: o for o in seed_doc.organizations}
    assert "南通市科技局" in {orgs["kjj"].name, orgs["kjj"].short_name, *orgs["kjj"].aliases}
    assert orgs["haimen-kjj"].short_name == "海门区科技局" and orgs["haimen-kjj"].parent == "haimen"


def test_row_36_listed_in_q3_but_dated_june_july(events: dict[int, Any]) -> None:
    ev = events[36]
    assert ev.quarter == 3
    assert (ev.sessions[0].start, ev.sessions[0].end) == (date(2023, 6, 1), date(2023, 7, 31))


def test_bimonthly_rows_form_one_series_of_six(seed_doc: PlanFile) -> None:
    rows = [e for e in seed_doc.events if e.series]
    assert [e.seq for e in rows] == [3, 17, 28, 40]
    assert {e.series for e in rows} == {SERIES}
    sessions = [(e.quarter, s) for e in rows for s in e.sessions]
    assert [s.start.month for _, s in sessions] == [2, 4, 6, 8, 10, 12]
    for quarter, s in sessions:
        assert (s.start.month - 1) // 3 + 1 == quarter  # each inside its row's quarter
        assert str(s.precision) == "month"
    assert len({s.key for _, s in sessions}) == 6


def test_university_rows_have_one_session_per_university(events: dict[int, Any]) -> None:
    for seq, count in {2: 2, 14: 3, 26: 3, 38: 2}.items():
        titles = [s.title for s in events[seq].sessions]
        assert len(titles) == count == len(set(titles))
        assert all(s.location == "南通" for s in events[seq].sessions)


def test_one_theme_activity_per_quarter(seed_doc: PlanFile) -> None:
    themed = {e.quarter: (e.seq, e.theme) for e in seed_doc.events if str(e.type) == "quarterly_theme"}
    assert themed == {1: (1, "科技成果"), 2: (13, "科创项目"), 3: (25, "平台载体"), 4: (37, "科技人才")}


def test_session_keys_are_unique_and_stable(seed_doc: PlanFile) -> None:
    keys = [s.key for e in seed_doc.events for s in e.sessions]
    assert len(keys) == len(set(keys))
    for ev in seed_doc.events:
        for i, s in enumerate(ev.sessions, start=1):
            assert s.key == f"{ev.seq:02d}-{i}"


def test_explicit_chains(events: dict[int, Any]) -> None:
    """Chains named outright in the 内容 of the 高校院所 rows and others."""
    assert set(events[2].chains) == {"高端装备", "生物医药"}
    assert set(events[14].chains) == {"新材料", "船舶海工", "生物医药", "高端装备"}
    assert set(events[26].chains) == {"新一代信息技术", "船舶海工", "新能源"}
    assert set(events[38].chains) == {"新一代信息技术", "高端装备"}
    for seq in (19, 34, 36):
        assert "新一代信息技术" in events[seq].chains
    assert "生物医药" in events[39].chains


def test_every_host_and_co_organizer_is_an_organization(seed_doc: PlanFile) -> None:
    ids = {o.id for o in seed_doc.organizations}
    for _q, _t, _th, _title, hosts, co_organizers, _s in EXPECTED.values():
        assert set(hosts) | set(co_organizers) <= ids
    assert len(seed_doc.organizations) == 34


def test_organizations_names_kinds_and_aliases(seed_doc: PlanFile) -> None:
    orgs = {o.id: o for o in seed_doc.organizations}
    names = {o.id: {o.name, o.short_name, *o.aliases} for o in seed_doc.organizations}
    assert {"市科技局", "南通市科技局", "南通市科学技术局"} <= names["kjj"]
    assert "通创投" in names["tct"]
    assert {"东部中心", "国家技术转移东部中心南通分中心"} <= names["dbzx"]
    assert orgs["rcb"].short_name == "市人才办" and orgs["jrj"].short_name == "市金融局"
    for key, short in DISTRICTS.items():
        assert (orgs[key].short_name, str(orgs[key].kind)) == (short, "district")
    for key, short in PARKS.items():
        assert (orgs[key].short_name, str(orgs[key].kind)) == (short, "park")
    assert str(orgs["kctz"].kind) == "platform" and str(orgs["rcfz"].kind) == "platform"
    for key in ("kjj", "jrj", "rcb", *(k for k in DUTIES if k not in DISTRICTS and k not in PARKS and
                                        k not in ("kctz", "rcfz"))):
        assert str(orgs[key].kind) == "city_department", key
    assert set(orgs["all-districts"].members) == set(DISTRICTS)
    assert set(orgs["all-bankuai"].members) == set(DISTRICTS) | set(PARKS)
    for group in ("all-districts", "all-bankuai", "all-departments", "univ-tt-centers"):
        assert str(orgs[group].kind) == "group"
    assert orgs["all-districts"].short_name == "各县（市、区）"
    assert orgs["all-departments"].short_name == "各有关部门" and orgs["all-bankuai"].short_name == "各板块"


def test_every_member_unit_of_annex_1_with_its_duties(seed_doc: PlanFile) -> None:
    orgs = {o.id: o for o in seed_doc.organizations}
    full_names = {
        "zzb": "中共南通市委组织部", "fgw": "南通市发展和改革委员会", "jyj": "南通市教育局",
        "gxj": "南通市工业和信息化局", "czj": "南通市财政局", "rsj": "南通市人力资源和社会保障局",
        "zrzyj": "南通市自然资源和规划局", "swj": "南通市商务局", "xzspj": "南通市行政审批局",
        "scjgj": "南通市市场监督管理局", "kctz": "南通市科创投资集团有限公司", "rcfz": "南通市人才发展集团有限公司",
        "kjj": "南通市科学技术局", "kfq": "南通经济技术开发区", "sxt": "江苏南通苏锡通科技产业园区",
        "tzw": "江苏省通州湾江海联动开发示范区", "cxq": "南通创新区",
    }
    for key, name in full_names.items():
        assert orgs[key].name == name
    for key, duty in DUTIES.items():
        assert orgs[key].duties == duty, key
    assert KJJ_DUTY in (orgs["kjj"].duties or "")
    assert "推进领导小组办公室设在市科技局" in (orgs["kjj"].duties or "")


def test_seed_file_keeps_the_documented_top_level_shape(raw: dict[str, Any]) -> None:
    assert set(raw) == {"plan", "organizations", "events"}
    ev = raw["events"][0]
    for key in ("seq", "quarter", "type", "theme", "title", "content", "locations", "date_text", "hosts",
                "co_organizers", "chains", "series", "sessions"):
        assert key in ev
    for key in ("key", "title", "location", "date_text", "start", "end", "precision"):
        assert key in ev["sessions"][0]
    for key in ("id", "name", "short_name", "aliases", "kind", "duties"):
        assert key in raw["organizations"][0]


# --- a 2027 plan in the wording offices use (issue 10, point 4) -----------------------------------------------------
# Windows below are calendar dates worked out by hand for 2027 (published 2027-01-20), never parsed.

P27 = date(2027, 1, 20)


def sess(key: str, text: str, start: date, end: date, precision: str) -> dict[str, Any]:
    return {"key": key, "title": "活动", "location": "南通", "date_text": text, "start": start.isoformat(),
            "end": end.isoformat(), "precision": precision}


def month27(key: str, month: int, text: str | None = None) -> dict[str, Any]:
    start, end, _ = m(month)
    return sess(key, text or f"2027年{month}月", start.replace(year=2027), end.replace(year=2027), "month")


def row(seq: int, text: str, sessions: list[dict[str, Any]], series: str | None = None) -> dict[str, Any]:
    return {"seq": seq, "quarter": 1, "type": "city_service", "title": f"活动{seq}", "content": "",
            "locations": ["南通"], "date_text": text, "hosts": ["kjj"], "series": series, "sessions": sessions}


QUARTERS_2027 = [(date(2027, 1, 1), date(2027, 3, 31)), (date(2027, 4, 1), date(2027, 6, 30)),
                 (date(2027, 7, 1), date(2027, 9, 30)), (date(2027, 10, 1), date(2027, 12, 31))]


def rows_2027() -> list[dict[str, Any]]:
    return [
        row(1, "每季度", [sess(f"01-{q}", f"{'一二三四'[q - 1]}季度", *QUARTERS_2027[q - 1], "quarter")
                       for q in (1, 2, 3, 4)], series="salon"),
        row(2, "全年（3、6、9、11月）", [month27(f"02-{i}", mo) for i, mo in enumerate((3, 6, 9, 11), 1)]),
        row(3, "4月、5月", [month27("03-1", 4, "4月"), month27("03-2", 5, "5月")]),
        row(4, "二、三季度", [sess("04-1", "二、三季度", date(2027, 4, 1), date(2027, 9, 30), "quarter_range")]),
        row(5, "2026年12月", [sess("05-1", "2026年12月", date(2026, 12, 1), date(2026, 12, 31), "month")]),
        row(6, "12月—次年1月", [sess("06-1", "12月—次年1月", date(2027, 12, 1), date(2028, 1, 31), "month_range")]),
        row(7, "9月底前", [sess("07-1", "9月底前", P27, date(2027, 9, 30), "deadline")]),
        row(8, "3月上旬", [sess("08-1", "3月上旬", date(2027, 3, 1), date(2027, 3, 10), "dekad")]),
        row(9, "4月30日—5月2日", [sess("09-1", "4月30日—5月2日", date(2027, 4, 30), date(2027, 5, 2), "day")]),
        row(10, "每月", [month27(f"10-{mo}", mo) for mo in range(1, 13)], series="monthly"),
        row(11, "上半年", [sess("11-1", "上半年", date(2027, 1, 1), date(2027, 6, 30), "half_year")]),
        row(12, "5月至6月", [sess("12-1", "5月至6月", date(2027, 5, 1), date(2027, 6, 30), "month_range")]),
    ]


def check_2027(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    from scheduler.plan.seed import check_plan

    doc = {
        "plan": {"id": "nantong-2027", "year": 2027, "title": "2027年科技招商活动安排表", "source": "测试",
                 "published": P27.isoformat(), "timezone": "Asia/Shanghai",
                 "themes": {"1": "科技成果", "2": "科创项目", "3": "平台载体", "4": "科技人才"}},
        "organizations": [{"id": "kjj", "name": "南通市科学技术局", "short_name": "市科技局",
                           "kind": "city_department"}],
        "events": rows,
    }
    return [(e.where, e.message) for e in check_plan(PlanFile.model_validate(doc))]


def test_a_2027_plan_in_office_wording_validates() -> None:
    assert check_2027(rows_2027()) == []


def broken(seq: int, change: Any) -> list[dict[str, Any]]:
    rows = rows_2027()
    change(rows[seq - 1])
    return rows


@pytest.mark.parametrize(
    ("rows", "path", "needle"),
    [
        (broken(1, lambda r: r["sessions"].pop()), "events[0].sessions", "缺少场次：2027年四季度（共应有 4 场）"),
        (broken(10, lambda r: r["sessions"].pop(5)), "events[9].sessions", "缺少场次：2027年6月（共应有 12 场）"),
        (broken(10, lambda r: r.update(series=None)), "events[9].series", "周期活动必须填写 series"),
        (broken(3, lambda r: r["sessions"][1].update(month27("03-2", 7, "7月"))), "events[2].sessions[1]",
         "不是“4月、5月”的一场（可为：2027年4月、2027年5月）"),
        (broken(2, lambda r: r["sessions"][3].update(month27("02-4", 9))), "events[1].sessions[3]", "已有场次"),
        (broken(5, lambda r: r["sessions"][0].update(
            sess("05-1", "2026年11月", date(2026, 11, 1), date(2026, 11, 30), "month"))),
         "events[4].sessions[0]", "超出计划年度 2027"),
        (broken(6, lambda r: r["sessions"][0].update(
            sess("06-1", "12月—次年2月", date(2027, 12, 1), date(2028, 2, 29), "month_range"))),
         "events[5].sessions[0]", "超出计划年度 2027"),
        (broken(7, lambda r: r["sessions"][0].update(start="2027-01-01")), "events[6].sessions[0]",
         "对应 2027-01-20–2027-09-30"),
        (broken(8, lambda r: r["sessions"][0].update(date_text="3月初")), "events[7].sessions[0].date_text",
         "2027年3月上旬"),
        (broken(4, lambda r: r.update(series="q23")), "events[3].date_text", "系列活动的日期应为周期"),
    ],
)
def test_2027_date_mistakes_are_located(rows: list[dict[str, Any]], path: str, needle: str) -> None:
    errors = check_2027(rows)
    assert any(p == path and needle in msg for p, msg in errors), errors
