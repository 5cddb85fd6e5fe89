"""CSP without 'unsafe-inline' (issue 15): every page style comes from the served /static/app.css; the two
documents that need inline styles (an e-mail's HTML part, the printable report) carry a narrower policy of their own."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from scheduler.clock import FixedClock
from scheduler.config import PROJECT_ROOT, Settings
from scheduler.web.app import create_app
from tests.support.admin import PASSWORD, add_admin
from tests.support.instants import NOTICE_DATE

pytestmark = pytest.mark.db
EML = "1700000000000000000-deadbeef.eml"


def policy(header: str) -> dict[str, str]:
    return {p.split()[0]: p.strip().partition(" ")[2] for p in header.split(";") if p.strip()}


def test_no_web_template_carries_an_inline_style() -> None:
    """style-src 'self' holds only if no page has a <style> block or a style="" attribute (the printable report
    is a standalone document with its own hashed policy; mail templates are not web pages)."""
    found = []
    for template in (PROJECT_ROOT / "templates" / "web").rglob("*.html"):
        if template.name == "report_print.html":
            continue
        if re.search(r"<style|\sstyle\s*=", template.read_text(), re.IGNORECASE):
            found.append(template.name)
    assert found == []


@pytest.fixture
def client(seeded_engine: Engine, settings: Settings) -> TestClient:
    add_admin(seeded_engine)
    return TestClient(create_app(settings.model_copy(update={"mail_sink": True, "mailbox_public": True}),
                                 clock=FixedClock(NOTICE_DATE), engine=seeded_engine))


@pytest.mark.parametrize("path", ["/", "/plan", "/login", "/subscribe", "/no-such-page"])
def test_pages_allow_styles_from_this_site_only(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Accept": "text/html"})
    header = response.headers["content-security-policy"]
    assert "unsafe-inline" not in header and "unsafe-hashes" not in header
    assert policy(header)["style-src"] == "'self'"
    assert '<link rel="stylesheet" href="/static/app.css">' in response.text


def test_the_stylesheet_is_served(client: TestClient) -> None:
    css = client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["x-content-type-options"] == "nosniff"
    for rule in ("header.top {", "form.task {", ".banner.provisional {", "iframe.mail-html {", "pre.mail-text {"):
        assert rule in css.text, rule


def test_a_mail_html_part_is_framed_from_its_own_url_under_a_sandbox_policy(client: TestClient,
                                                                           settings: Settings) -> None:
    directory = settings.var_dir / "mail"
    directory.mkdir()
    html = '<p style="color:#0b5cad">定档请求</p><script>alert(3)</script>'
    (directory / EML).write_bytes(
        b"From: x@example.org\r\nTo: y@example.org\r\nSubject: test\r\n"
        b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        b"plain\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html.encode() + b"\r\n--b--\r\n")
    page = client.get(f"/mail/{EML}")
    assert f'<iframe sandbox class="mail-html" title="HTML 正文" src="/mail/{EML}/body.html">' in page.text
    assert "srcdoc" not in page.text and policy(page.headers["content-security-policy"])["frame-src"] == "'self'"
    body = client.get(f"/mail/{EML}/body.html")
    assert body.status_code == 200 and html in body.text
    framed = policy(body.headers["content-security-policy"])
    assert framed["default-src"] == "'none'" and "script-src" not in framed  # default-src 'none': no script at all
    assert framed["style-src"] == "'unsafe-inline'" and framed["frame-ancestors"] == "'self'" and "sandbox" in framed
    assert body.headers["x-frame-options"] == "SAMEORIGIN" and body.headers["cache-control"] == "no-store"
    (directory / "1700000000000000001-cafebabe.eml").write_bytes(b"From: x@example.org\r\n\r\nplain only\r\n")
    assert client.get("/mail/1700000000000000001-cafebabe.eml/body.html").status_code == 404


def test_the_printable_report_allows_exactly_its_own_style_block(client: TestClient, tmp_path: Path) -> None:
    token = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"csrf_token": token, "username": "office", "password": PASSWORD, "next": "/"})
    response = client.get("/admin/reports/monthly", params={"period": "2023-03", "format": "html"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    [block] = re.findall(rb"<style>(.*?)</style>", response.content, re.S)
    digest = base64.b64encode(hashlib.sha256(block).digest()).decode()
    header = response.headers["content-security-policy"]
    assert policy(header)["style-src"] == f"'self' 'sha256-{digest}'" and "unsafe-inline" not in header
    assert policy(header)["frame-ancestors"] == "'none'" and " style=" not in response.text
