"""Import every module that defines tables, so SQLModel.metadata is complete (migrations, create_all)."""

from scheduler import auth, contacts, feed_tokens, models  # noqa: F401
from scheduler.reminders import outbox  # noqa: F401
