"""Import every module that defines tables, so SQLModel.metadata is complete (migrations, create_all)."""

from scheduler import feed_tokens, models  # noqa: F401
