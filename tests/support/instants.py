"""Test helper: the one fixed instant most tests run at, the morning the 2023 plan was announced."""

from __future__ import annotations

from datetime import UTC, datetime

NOTICE_DATE = datetime(2023, 1, 22, 1, 0, tzinfo=UTC)  # 09:00 Asia/Shanghai on the day of the notice
