"""The logistics admin pages refuse the signed-out and answer unknown things with a Chinese page, never a 500."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy.engine import Engine

from scheduler.clock import FixedClock
from scheduler.web.app import create_app
from tests.factories.followups import settings
from tests.factories.logistics import T_DAY, arrange
from tests.support.admin import add_admin, sign_in
from tests.support.servers import run_uvicorn


def test_signed_out_refused_unknown_manifest_and_occurrence_answered_in_chinese(mail_engine: Engine,
                                                                                tmp_path: Path) -> None:
    occ_id = arrange(mail_engine)
    add_admin(mail_engine)
    app = create_app(settings(tmp_path), clock=FixedClock(T_DAY), engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=30) as client:
        for path in (f"/admin/logistics/{occ_id}", f"/admin/logistics/{occ_id}/manifests/rooming.xlsx",
                     f"/admin/logistics/{occ_id}/signin", f"/admin/logistics/{occ_id}/checkin", "/admin/logistics"):
            answer = client.get(path)
            assert answer.status_code in (302, 303) and "/login" in answer.headers["location"], path
        assert client.post(f"/admin/logistics/{occ_id}/roster", data={"action": "unit"}).status_code in (302, 303, 403)
        assert sign_in(client).status_code == 303
        unknown = client.get(f"/admin/logistics/{occ_id}/manifests/badges.pdf")
        assert unknown.status_code == 404 and "没有这份名单" in unknown.text
        assert client.get("/admin/logistics/999999").status_code == 404
        assert "没有编号为 999999 的场次" in client.get("/admin/logistics/999999").text
        listing = client.get("/admin/logistics").text
        assert "南通-武汉地区高校科技成果对接洽谈会" in listing and 'href="/admin/logistics"' in listing  # nav link
        assert client.get("/o/n/nomination.forged").status_code == 403
        assert client.get("/o/g/guest.forged").status_code == 403
