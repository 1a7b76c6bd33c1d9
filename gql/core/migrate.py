"""Alembic, driven from Python: upgrade and downgrade the schema of a database."""

from pathlib import Path

from alembic import command
from alembic.config import Config

# The checkout: gql/core/migrate.py -> the directory holding gql/ and migrations/.
ROOT = Path(__file__).resolve().parents[2]


def _migrations_dir() -> Path:
    # A source checkout (or editable install) keeps migrations/ beside the package; an
    # installed package is run from the project directory (the Docker image's /app).
    for candidate in (ROOT / "migrations", Path.cwd() / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("migrations/ not found beside the package or in the working directory")


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for `database_url`, without reading alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database down to `revision` (`base` removes every table)."""
    command.downgrade(alembic_config(database_url), revision)
