"""The per-kind table: every task kind declares its whole form once; kind values (inside tokens) never change."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine

from scheduler.config import PROJECT_ROOT
from scheduler.db import session_scope
from scheduler.followups.kinds import KINDS, TASK_KIND_LABELS, KindSpec
from scheduler.followups.links import LinkSigner
from scheduler.followups.models import IssuedLink, Task, TaskKind

KEYS = ["k" * 32]
EXPIRES = datetime(2023, 4, 30, 16, tzinfo=UTC)
PAYLOAD = "eyJ0Ijo3LCJyIjoicnVnYW8ubGlhbmx1b0BleGFtcGxlLm9yZyIsIm4iOiJmaXhlZC1ub25jZSIsImUiOjE2ODI4NzA0MDB9"
# Tokens as the signer issued them while link actions were a separate enum: they must keep working.
ISSUED_BEFORE = {
    "fix_date": f"fix_date.{PAYLOAD}.EvUFrrmP0T46Gg2DEoVCmW1gxuU",
    "outcome": f"outcome.{PAYLOAD}.YEpX2HxHqwqvw3N_e6xZyfVtQk4",
    "negotiation": f"negotiation.{PAYLOAD}.bTRptt_m4fqFDDGhldcCRQKtYM8",
    "lead_checkin": f"lead_checkin.{PAYLOAD}.B1eQKLqX3P0HiroFzHbJGVPIda8",
    "checklist": f"checklist.{PAYLOAD}.u4XJSCh__A6Q-ltLx_I_-PiO0U8",
}


def test_every_task_kind_has_a_complete_spec() -> None:
    assert list(KINDS) == list(TaskKind)
    optional = {"still_open_note"}
    for kind, spec in KINDS.items():
        assert isinstance(spec, KindSpec)
        for f in dataclasses.fields(spec):
            value = getattr(spec, f.name)
            if f.name not in optional:
                assert value is not None and value != "", (kind, f.name)
        assert all(callable(getattr(spec, name)) for name in ("parse", "apply", "prefill", "options", "receipt"))
        assert (PROJECT_ROOT / "templates" / "web" / spec.template).is_file(), (kind, spec.template)
    assert len({spec.label for spec in KINDS.values()}) == len(KINDS), "labels tell kinds apart"
    assert TASK_KIND_LABELS == {kind: spec.label for kind, spec in KINDS.items()}


def test_kind_values_are_the_stored_strings() -> None:
    assert [str(k) for k in TaskKind] == ["fix_date", "outcome", "checklist", "negotiation", "lead_checkin"]


@pytest.mark.db
@pytest.mark.parametrize("kind", list(ISSUED_BEFORE))
def test_tokens_issued_before_the_kinds_were_unified_still_verify(engine: Engine, kind: str) -> None:
    now = datetime(2023, 3, 10, 2, tzinfo=UTC)
    with session_scope(engine, write=True) as session:
        session.add(Task(id=7, key=f"k:{kind}", kind=kind, title="t", organization_key="rugao",
                         opens_on=date(2023, 3, 1), due_on=date(2023, 3, 31), created_at=now, updated_at=now))
        session.flush()
        link = IssuedLink(nonce="fixed-nonce", action=kind, task_id=7, recipient="rugao.lianluo@example.org",
                          expires_at=EXPIRES, created_at=now)
        session.add(link)
        session.flush()
        # Issued now, the token carries the nonce only (issue 15); the old token still verifies against the row.
        assert LinkSigner(KEYS).token_for(link).startswith(f"{kind}.ImZpeGVkLW5vbmNlIg.")  # base64 of '"fixed-nonce"'
        grant = LinkSigner(KEYS).verify(session=session, token=ISSUED_BEFORE[kind], now=now)
    assert (grant.action, grant.task_id, grant.nonce) == (TaskKind(kind), 7, "fixed-nonce")
