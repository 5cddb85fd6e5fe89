"""Test helper: the local headless Chromium and the flags that keep it from reaching the network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
# How far a page is wider than the screen (0: nothing to scroll sideways).
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def watch(page: Any, base_url: str, problems: list[str]) -> None:
    """Collect console errors, page errors and any request leaving `base_url` into `problems`."""
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(base_url) else problems.append(f"foreign {r.url}"))


def sign_in_at(page: Any, base_url: str, path: str, password: str, username: str = "office") -> None:
    """Open `path` signed out, sign in on the form it redirects to, and wait to be sent back."""
    page.goto(f"{base_url}{path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{base_url}{path}")
