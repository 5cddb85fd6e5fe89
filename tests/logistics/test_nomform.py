"""The nomination form's rules as pure logic: every refusal names its field in Chinese, blank rows are dropped,
capacities (the unit's and the total), the deadline, duplicates and dates are checked against what is passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime

from scheduler.logistics.nomform import NominationRules, mask_mobile, parse_nomination, row_count

NOW = datetime(2023, 4, 21, 2, 0, tzinfo=UTC)
DEADLINE = datetime(2023, 5, 10, 9, 0, tzinfo=UTC)  # 17:00 Shanghai


def rules(**over: object) -> NominationRules:
    base: dict[str, object] = {
        "unit_name": "海安市", "event_start": date(2023, 5, 18), "event_end": date(2023, 5, 19), "capacity": 3,
        "total_capacity": None, "others_count": 0, "other_mobiles": {}, "collect": frozenset({"travel", "lodging"}),
        "deadline_at": DEADLINE}
    return NominationRules(**{**base, **over})  # type: ignore[arg-type]


def row(i: int, **fields: str) -> dict[str, str]:
    base = {"name": f"人员{i}", "role": "工作人员", "mobile": f"1380000000{i}"}
    return {f"p{i}-{k}": v for k, v in {**base, **fields}.items()}


def test_a_clean_list_keeps_typed_values_and_drops_blank_rows() -> None:
    form = {**row(0, title="科长", org="", depart_on="2023-05-15", return_on="2023-05-22", train_no="g7081"),
            **{f"p1-{k}": "" for k in ("name", "mobile", "title")}, "p1-role": "", **row(2, role="带队领导")}
    parsed = parse_nomination(form, rules(), now=NOW)
    assert parsed.errors == {}
    assert [p["name"] for p in parsed.people] == ["人员0", "人员2"]
    first = parsed.people[0]
    # ±3 days of 05-18…05-19 is 05-15…05-22, both ends allowed; an empty 单位 is the unit's own name.
    assert (first["depart_on"], first["return_on"]) == (date(2023, 5, 15), date(2023, 5, 22))
    assert first["org"] == "海安市" and first["train_no"] == "G7081" and first["role"] == "staff"
    assert parsed.people[1]["role"] == "leader"


def test_dates_outside_the_window_or_in_the_wrong_order_are_refused_at_their_field() -> None:
    form = {**row(0, depart_on="2023-05-14", return_on="2023-05-23"),
            **row(1, depart_on="2023-05-19", return_on="2023-05-18", checkin_on="2023-05-18",
                  checkout_on="2023-05-18"),
            **row(2, depart_on="2023-5-18")}
    errors = parse_nomination(form, rules(), now=NOW).errors
    assert errors["p0-depart_on"] == "出发日期 2023-05-14 不在活动日期前后 3 天内（应在 2023-05-15 至 2023-05-22 之间）"
    assert errors["p0-return_on"].startswith("返回日期 2023-05-23 不在活动日期前后 3 天内")
    assert errors["p1-return_on"] == "返回日期 2023-05-18 早于出发日期 2023-05-19"
    assert errors["p1-checkout_on"] == "退房日期 2023-05-18 应晚于入住日期 2023-05-18"
    assert errors["p2-depart_on"] == "出发日期“2023-5-18”不是有效日期（格式 2023-05-18）"


def test_mobiles_must_be_valid_and_unique_in_the_list_and_across_units() -> None:
    form = {**row(0, mobile="138 0000 0001"), **row(1, mobile="13800000001"), **row(2, mobile="12345"),
            **row(3, mobile="13900000009")}
    errors = parse_nomination(form, rules(capacity=None, other_mobiles={"13900000009": "如皋市"}), now=NOW).errors
    assert errors == {
        "p1-mobile": "手机号 138****0001 与第 1 行重复",
        "p2-mobile": "手机号“12345”无效：应为 11 位数字、以 1 开头",
        "p3-mobile": "手机号 139****0009 已在如皋市的名单中：同一人不能由两个单位报名，请与对方核实",
    }


def test_formula_payloads_and_unknown_choices_are_refused() -> None:
    form = {**row(0, name="=1+2"), **row(1, title="@SUM(A1)", role="老板"), **row(2, transport="火箭", room="三人间"),
            **row(3, name="-人员3", email="not-an-address")}
    errors = parse_nomination(form, rules(capacity=None), now=NOW).errors
    assert errors["p0-name"] == "姓名不能以“=”开头（表格软件会把它当作公式执行），请删去该符号"
    assert errors["p1-title"].startswith("职务不能以“@”开头")
    assert errors["p1-role"] == "角色“老板”不是可选项（带队领导、工作人员、企业代表、随行）"
    assert errors["p2-transport"] == "交通方式“火箭”不是可选项（可选：飞机、高铁/火车、统一乘车、自驾、其他）"
    assert errors["p2-room"] == "单住/合住“三人间”不是可选项（可选：单住、合住）"
    assert errors["p3-name"].startswith("姓名不能以“-”开头")
    assert errors["p3-email"] == "邮箱“not-an-address”格式不正确"


def test_capacity_of_the_unit_and_of_the_whole_event() -> None:
    four = {k: v for i in range(4) for k, v in row(i).items()}
    assert parse_nomination(four, rules(), now=NOW).errors == {
        "people": "超出名额：本单位名额 3 人，本次填写 4 人，请删减 1 人后再提交"}
    two = {k: v for i in range(2) for k, v in row(i).items()}
    refused = parse_nomination(two, rules(total_capacity=30, others_count=29), now=NOW)
    assert refused.people == [] and refused.errors == {
        "people": "超出总名额：本次活动共 30 人，其他单位已报 29 人，本单位最多还可报 1 人（本次填写 2 人）"}
    assert parse_nomination(two, rules(total_capacity=30, others_count=28), now=NOW).ok


def test_after_the_deadline_nothing_is_accepted_and_an_empty_list_is_refused() -> None:
    assert parse_nomination(row(0), rules(), now=DEADLINE).errors == {"people": "报名已截止，本次提交未保存"}
    assert parse_nomination({}, rules(), now=NOW).errors == {
        "people": "名单为空：请至少填写一人（如本单位不派员，请联系主办单位）"}


def test_stored_ids_are_kept_only_for_the_units_own_people() -> None:
    form = {**row(0), "p0-id": "7", **row(1), "p1-id": "8"}
    parsed = parse_nomination(form, rules(known_ids=frozenset({7})), now=NOW)
    assert [p["id"] for p in parsed.people] == [7, None]  # id 8 belongs to someone else: a new row instead


def test_row_count_and_mobile_mask() -> None:
    assert row_count({"p0-name": "", "p1-mobile": "", "p3-name": ""}) == 2
    assert mask_mobile("13812345678") == "138****5678" and mask_mobile(None) == ""


def test_more_rows_than_a_form_may_carry_are_refused_whole() -> None:
    form = {k: v for i in range(141) for k, v in row(i, mobile=f"13{i:09d}").items()}
    assert parse_nomination(form, rules(capacity=None), now=NOW).errors == {"people": "一次最多提交 140 人"}
