"""Import every module that defines tables, so SQLModel.metadata is complete (migrations, create_all)."""

from scheduler import audit, auth, contacts  # noqa: F401
from scheduler.feeds import tokens  # noqa: F401
from scheduler.followups import links, models, tasks  # noqa: F401
from scheduler.mail import outbox  # noqa: F401
from scheduler.outcomes import lead_models  # noqa: F401
from scheduler.outcomes import models as outcome_models  # noqa: F401
from scheduler.plan import models as plan_models  # noqa: F401
from scheduler.reports import models as report_models  # noqa: F401
