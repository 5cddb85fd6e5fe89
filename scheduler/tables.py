"""Import every module that defines tables, so SQLModel.metadata is complete (migrations, create_all)."""

from scheduler import audit, auth, contacts, feed_tokens, lead_models, links, models  # noqa: F401
from scheduler import negotiation_models as _n  # noqa: F401
from scheduler import outcome_models as _o  # noqa: F401
from scheduler import report_models as _r  # noqa: F401
from scheduler import tasks as _t  # noqa: F401
from scheduler.reminders import outbox  # noqa: F401
