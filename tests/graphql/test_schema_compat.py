"""Breaking schema changes are caught: `gql schema-diff` and scripts/check-schema-compat."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OLD = "type Query { product(id: ID!): Product products: [Product!]! }\ntype Product { id: ID! name: String! }\n"
ADDED = OLD.replace("name: String!", "name: String! sku: String")
REMOVED = OLD.replace(" products: [Product!]!", "")


def _diff(tmp_path: Path, old: str, new: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "old.graphql").write_text(old)
    (tmp_path / "new.graphql").write_text(new)
    return subprocess.run(
        [sys.executable, "-m", "gql.cli", "schema-diff", "old.graphql", "new.graphql"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_added_field_is_compatible(tmp_path: Path) -> None:
    done = _diff(tmp_path, OLD, ADDED)
    assert (done.returncode, done.stdout) == (0, "")


def test_a_removed_field_is_breaking(tmp_path: Path) -> None:
    done = _diff(tmp_path, OLD, REMOVED)
    assert done.returncode == 1
    assert "BREAKING FIELD_REMOVED: Field Query.products was removed." in done.stdout


def test_the_live_schema_matches_the_checked_in_file_without_breaking(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gql.cli", "schema-diff", str(ROOT / "schema.graphql")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, "")


def _commit(repo: Path, schema: str, message: str) -> None:
    (repo / "schema.graphql").write_text(schema)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "schema.graphql"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", message], check=True)


def test_the_ci_check_needs_breaking_in_the_commit_message(tmp_path: Path) -> None:
    # given: a repository with the script, whose last commit removes a field
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "check-schema-compat", repo / "scripts")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    _commit(repo, OLD, "first")
    _commit(repo, REMOVED, "drop the list")
    gql = Path(sys.executable).with_name("gql")
    env = os.environ | {"GQL": str(gql)}
    script = [str(repo / "scripts" / "check-schema-compat")]

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(script, env=env, capture_output=True, text=True, timeout=60)

    # when / then: refused, unless the message says BREAKING
    refused = check()
    assert refused.returncode == 1, refused.stdout + refused.stderr
    _commit(repo, OLD.replace("product(id: ID!): Product ", ""), "BREAKING: no product(id)")
    accepted = check()
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "BREAKING" in accepted.stdout
    # and a compatible change passes
    _commit(repo, OLD.replace("product(id: ID!): Product ", "") + "type Extra { x: Int }\n", "add")
    assert check().returncode == 0
