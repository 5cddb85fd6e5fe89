"""The `followups` ticker job: plan tasks and their mail when an input or the day changed."""

from __future__ import annotations

from typing import Any

from scheduler.db import session_scope
from scheduler.followups.checklists import read_checklists
from scheduler.followups.sync import followups_fingerprint, plan_followups
from scheduler.runtime import Runtime


class FollowupJob:
    """Sync follow-up tasks and their mail for one process."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._fingerprint: tuple[Any, ...] | None = None

    def run(self, *, force: bool = False) -> dict[str, Any]:
        """Plan tasks and task mail at the clock's now; skipped when nothing changed since the last run."""
        now = self.runtime.clock.now()
        templates = read_checklists(self.runtime.settings.checklist_file)
        with session_scope(self.runtime.engine, write=True) as session:
            fingerprint = (followups_fingerprint(session=session, now=now), tuple(sorted(templates.items())))
            if not force and fingerprint == self._fingerprint:
                return {"skipped": True}
            report = plan_followups(session=session, templates=templates, now=now)
        with session_scope(self.runtime.engine) as session:
            self._fingerprint = (followups_fingerprint(session=session, now=now), fingerprint[1])
        return report.as_dict()
