"""Every setting is documented in the README's table and listed in .env.example."""

import re
from pathlib import Path

from gql.core.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def _variables() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def test_the_readme_table_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| variable | default | meaning |", 1)[1].split("\n\n", 1)[0]
    first_cells = [row.split("|")[1] for row in table.splitlines() if row.startswith("| `")]
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z0-9_]+)`", cell)}
    assert _variables() - documented == set()
    assert documented - _variables() == set()


def test_env_example_lists_every_setting() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#? ?([A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert listed == _variables()


def test_env_example_values_are_the_defaults() -> None:
    # given: the file as the settings would read it (commented lines are not read)
    example = ROOT / ".env.example"
    # when
    from_file = Settings(_env_file=example)  # type: ignore[call-arg]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    # then
    assert from_file.model_dump() == defaults.model_dump()
