"""/admin/workdays over real HTTP: a year from the State Council's calendar, a provisional year (暂定) with its
banner, adding and removing overrides, confirming a year; refused forms name their field and write nothing; CSRF,
sign-in, audit entries."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from scheduler.audit import AuditEntry
from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.web.app import create_app
from scheduler.workdays import WorkdayOverride, WorkdayYear
from tests.support.admin import add_admin, csrf_of, signed_in_client
from tests.support.dbstate import dump_database
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

NOTICE_2027 = "国办发明电〔2026〕X号"


@pytest.fixture
def office(engine: Engine, settings: Settings) -> Iterator[tuple[httpx.Client, Engine]]:
    add_admin(engine)
    app = create_app(settings, clock=FixedClock(NOTICE_DATE), engine=engine)
    with run_uvicorn(app, lifespan="off") as url:
        client = signed_in_client(url)
        try:
            yield client, engine
        finally:
            client.close()


def field_error(page: str, field: str) -> str | None:
    """Return the error shown under the form field `field` of the override form, if any."""
    form = page.split('data-testid="add-override"', 1)[1].split("</form>", 1)[0]
    found = re.search(rf'name="{field}".*?(?:<div class="field-error" role="alert">([^<]*)</div>|</div>)', form, re.S)
    return html.unescape(found.group(1)) if found and found.group(1) else None


def row_of(page: str, day: str) -> str | None:
    found = re.search(rf'<tr data-day="{day}".*?</tr>', page, re.S)
    return re.sub(r"<[^>]+>", " ", found.group(0)) if found else None


def totals(page: str) -> str:
    found = re.search(r'<p data-testid="totals">(.*?)</p>', page, re.S)
    assert found is not None
    return found.group(1)


def actions(engine: Engine) -> list[tuple[str, dict | None, dict | None]]:
    with session_scope(engine) as session:
        query = select(AuditEntry).where(col(AuditEntry.action).startswith("workday.")).order_by(col(AuditEntry.id))
        return [(e.action, e.before, e.after) for e in session.exec(query)]


def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.Client) -> None:
    page = client.get("/admin/workdays?year=2027")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/admin/workdays%3Fyear%3D2027"


def test_a_covered_year_shows_the_state_councils_holidays(office: tuple[httpx.Client, Engine]) -> None:
    client, _ = office
    page = client.get("/admin/workdays").text  # the clock's year: 2023
    assert "工作日历 2023 年" in page and 'data-provisional="0"' in page and 'class="provisional"' not in page
    page = client.get("/admin/workdays?year=2024").text
    assert 'data-provisional="0"' in page and "按国务院办公厅放假安排" in page
    # 国办发明电〔2023〕7号: 春节 2月10日至17日放假, 2月4日（星期日）、2月18日（星期日）上班.
    assert row_of(page, "2024-02-04") is not None and "调休上班" in (row_of(page, "2024-02-04") or "")
    assert "放假" in (row_of(page, "2024-02-10") or "") and "春节" in (row_of(page, "2024-02-10") or "")
    assert "调休上班" in (row_of(page, "2024-02-18") or "")
    # 2024: 262 weekdays − 19 weekdays off + 8 weekends worked (counted by hand from the notice).
    assert "全年工作日 251 天" in totals(page) and "调休上班 8 天" in totals(page)
    assert 'data-testid="confirm-year"' not in page  # nothing to confirm: the library has it


def test_a_year_beyond_the_library_is_provisional_until_confirmed(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    page = client.get("/admin/workdays?year=2027")
    assert page.status_code == 200 and 'data-provisional="1"' in page.text
    assert '<strong class="provisional">暂定</strong>' in page.text
    # 2027 begins and ends on a Friday: 52 full weeks (260 weekdays) and one more Friday.
    assert "全年工作日 261 天（暂定）" in totals(page.text)
    token = csrf_of(page.text)
    before = dump_database(engine)
    early = client.post("/admin/workdays/confirm", data={"csrf_token": token, "year": "2027", "source": NOTICE_2027})
    assert early.status_code == 422 and "尚未录入任何放假或调休日期" in early.text
    assert dump_database(engine) == before

    data = {"csrf_token": token, "year": "2027", "day": "2027-02-05", "kind": "off", "note": "春节",
            "source": NOTICE_2027}
    done = client.post("/admin/workdays/overrides", data=data)
    assert done.status_code == 303 and done.headers["location"] == "/admin/workdays?year=2027&done=set#done"
    saturday = {**data, "day": "2027-02-20", "kind": "work", "note": "春节调休上班"}
    assert client.post("/admin/workdays/overrides", data=saturday).status_code == 303
    with session_scope(engine) as session:
        stored = [(o.day, o.is_workday, o.note, o.source) for o in session.exec(select(WorkdayOverride))]
    assert sorted(stored) == [(date(2027, 2, 5), False, "春节", NOTICE_2027),
                              (date(2027, 2, 20), True, "春节调休上班", NOTICE_2027)]
    page = client.get("/admin/workdays?year=2027").text
    assert "放假" in (row_of(page, "2027-02-05") or "") and "办公室调整" in (row_of(page, "2027-02-05") or "")
    assert "调休上班" in (row_of(page, "2027-02-20") or "")  # 2027-02-20 is a Saturday
    assert "全年工作日 261 天（暂定）" in totals(page)  # one Friday off, one Saturday worked
    assert 'data-provisional="1"' in page

    blank = client.post("/admin/workdays/confirm", data={"csrf_token": token, "year": "2027", "source": " "})
    assert blank.status_code == 422 and "依据不能为空" in blank.text
    confirmed = client.post("/admin/workdays/confirm", data={"csrf_token": token, "year": "2027",
                                                             "source": NOTICE_2027})
    assert confirmed.status_code == 303
    with session_scope(engine) as session:
        year = session.get(WorkdayYear, 2027)
    assert year is not None and year.source == NOTICE_2027
    page = client.get("/admin/workdays?year=2027").text
    assert 'data-provisional="0"' in page and 'class="provisional"' not in page
    assert f"<strong>已确认</strong>：依据 {NOTICE_2027}，确认于 2023-01-22。" in page
    assert [a for a, _, _ in actions(engine)] == ["workday.set", "workday.set", "workday.confirm"]
    assert actions(engine)[0][2] == {"day": "2027-02-05", "is_workday": False, "note": "春节", "source": NOTICE_2027}


def test_replacing_and_removing_an_override_is_audited(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    token = csrf_of(client.get("/admin/workdays?year=2027").text)
    data = {"csrf_token": token, "day": "2027-10-08", "kind": "off", "note": "国庆节", "source": NOTICE_2027}
    assert client.post("/admin/workdays/overrides", data=data).status_code == 303
    assert client.post("/admin/workdays/overrides", data={**data, "kind": "work", "note": "上班"}).status_code == 303
    removed = client.post("/admin/workdays/overrides/2027-10-08/remove", data={"csrf_token": token})
    assert removed.status_code == 303 and removed.headers["location"] == "/admin/workdays?year=2027&done=unset#done"
    with session_scope(engine) as session:
        assert session.exec(select(WorkdayOverride)).all() == []
    first = {"day": "2027-10-08", "is_workday": False, "note": "国庆节", "source": NOTICE_2027}
    second = {**first, "is_workday": True, "note": "上班"}
    assert actions(engine) == [("workday.set", None, first), ("workday.set", first, second),
                               ("workday.unset", second, None)]
    again = client.post("/admin/workdays/overrides/2027-10-08/remove", data={"csrf_token": token})
    assert again.status_code == 404
    assert row_of(client.get("/admin/workdays?year=2027").text, "2027-10-08") is None


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"day": ""}, "day", "日期不能为空"),
        ({"day": "2027-02-30"}, "day", "日期 '2027-02-30' 无效（形如 2027-02-05）"),
        ({"day": "1999-12-31"}, "day", "日期 1999-12-31 超出范围（年份须在 2000–2100 之间）"),
        ({"kind": ""}, "kind", "安排：请选择上班或放假"),
        ({"kind": "holiday"}, "kind", "安排：请选择上班或放假"),
        ({"note": "  "}, "note", "说明不能为空"),
        ({"source": ""}, "source", "依据不能为空"),
        ({"source": "文" * 201}, "source", "依据过长（最多 200 字，现有 201 字）"),
    ],
)
def test_a_bad_override_is_refused_at_its_field_and_nothing_is_written(
    office: tuple[httpx.Client, Engine], form: dict[str, str], field: str, message: str
) -> None:
    client, engine = office
    before = dump_database(engine)
    data = {"csrf_token": csrf_of(client.get("/admin/workdays?year=2027").text), "year": "2027",
            "day": "2027-02-05", "kind": "off", "note": "春节", "source": NOTICE_2027, **form}
    refused = client.post("/admin/workdays/overrides", data=data)
    assert refused.status_code == 422
    assert field_error(refused.text, field) == message
    others = [f for f in ("day", "kind", "note", "source") if f != field]
    assert [field_error(refused.text, f) for f in others] == [None] * 3
    assert dump_database(engine) == before


def test_forged_or_missing_csrf_is_refused_and_writes_nothing(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    token = csrf_of(client.get("/admin/workdays?year=2027").text)
    data = {"day": "2027-02-05", "kind": "off", "note": "春节", "source": NOTICE_2027, "year": "2027"}
    assert client.post("/admin/workdays/overrides", data={**data, "csrf_token": token}).status_code == 303
    before = dump_database(engine)
    for path in ("/admin/workdays/overrides", "/admin/workdays/overrides/2027-02-05/remove",
                 "/admin/workdays/confirm"):
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 403
        assert client.post(path, data=data).status_code == 403
    assert dump_database(engine) == before
