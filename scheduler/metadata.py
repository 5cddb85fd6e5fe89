"""Import every module that defines tables, so SQLModel.metadata is complete (migrations, create_all)."""

from scheduler import audit, auth, clockstate, contacts, workdays  # noqa: F401
from scheduler.feeds import models as feed_models  # noqa: F401
from scheduler.followups import models as followup_models  # noqa: F401
from scheduler.logistics import models as logistics_models  # noqa: F401
from scheduler.mail import models as mail_models  # noqa: F401
from scheduler.outcomes import models as outcome_models  # noqa: F401
from scheduler.plan import models as plan_models  # noqa: F401
from scheduler.reports import models as report_models  # noqa: F401
from scheduler.scheduling import models as scheduling_models  # noqa: F401
