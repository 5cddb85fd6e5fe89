"""Alembic environment: the URL comes from the config the CLI builds, the metadata from the models."""

from alembic import context
from sqlmodel import SQLModel

import scheduler.metadata  # noqa: F401  (registers every table on the metadata)
from scheduler.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
