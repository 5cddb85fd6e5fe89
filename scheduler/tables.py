"""Import every module that defines tables, so SQLModel.metadata is complete (migrations, create_all)."""

from scheduler import models  # noqa: F401
