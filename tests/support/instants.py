"""Test helper: the one fixed instant most tests run at, the morning the 2023 plan was announced."""

from __future__ import annotations

from datetime import UTC, datetime

NOTICE_DATE = datetime(2023, 1, 22, 1, 0, tzinfo=UTC)  # 09:00 Asia/Shanghai on the day of the notice
# The notice came out on 春节初一: 1-21…1-27 off, Saturday 1-28 worked (国办发明电〔2022〕16号). Mail planned at the
# notice goes out on that first working day at the same local time; tests of sending plan and send from then.
FIRST_WORKDAY = datetime(2023, 1, 28, 1, 0, tzinfo=UTC)  # 09:00 Asia/Shanghai, Saturday 28 January 2023 (调休上班)
