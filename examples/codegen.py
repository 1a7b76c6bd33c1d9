"""Generate the typed client examples/gql_client/ from schema.graphql and
examples/operations.graphql with ariadne-codegen, then lint-fix and format it with the
project's ruff, so that `ruff check` and `ruff format --check` pass on it as they do on
the rest of the repository.

    .venv/bin/python examples/codegen.py           # rewrite examples/gql_client/ (make client)
    .venv/bin/python examples/codegen.py --check   # exit 1 when it differs (a test runs this)

ariadne-codegen needs graphql-core<3.3 and ruff<0.16, which cannot share .venv with the app
(graphql-core 3.3, ruff 0.17), so it runs from its own environment, .venv-codegen, made
here from the exact versions in examples/codegen-requirements.txt (again whenever that file
changes). The generator runs in a scratch copy of the repository's layout, so the output
does not depend on where the repository lies or on what it holds besides these inputs.
"""

import argparse
import difflib
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PACKAGE = EXAMPLES / "gql_client"
REQUIREMENTS = EXAMPLES / "codegen-requirements.txt"
# The generator's inputs, by their paths relative to the root (examples/codegen.toml names
# them so).
INPUTS = ("schema.graphql", "examples/operations.graphql", "examples/codegen.toml")
REGENERATE = "make client  (or: .venv/bin/python examples/codegen.py)"


def codegen_venv() -> Path:
    """The generator's environment, installed from the pinned requirements."""
    venv = Path(os.environ.get("GQL_CODEGEN_VENV", ROOT / ".venv-codegen"))
    stamp = venv / ".requirements.txt"
    wanted = REQUIREMENTS.read_text()
    if stamp.is_file() and stamp.read_text() == wanted and (venv / "bin" / "python").is_file():
        return venv
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--requirement",
            str(REQUIREMENTS),
        ],
        check=True,
    )
    stamp.write_text(wanted)
    return venv


def _run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )


def generate(workdir: Path) -> Path:
    """Generate the package under `workdir` (a scratch directory); its path."""
    for name in INPUTS:
        target = workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, target)
    tool = codegen_venv() / "bin" / "ariadne-codegen"
    _run([str(tool), "--config", "examples/codegen.toml", "client"], cwd=workdir)
    package = workdir / "examples" / "gql_client"
    # The project's rules and style: safe fixes only (the rules whose fixes would change the
    # generated code's behaviour are ignored for examples/gql_client/ in pyproject.toml).
    ruff = [sys.executable, "-m", "ruff"]
    config = ["--config", str(ROOT / "pyproject.toml")]
    _run([*ruff, "check", *config, "--fix", "--exit-zero", "--quiet", str(package)], cwd=ROOT)
    _run([*ruff, "format", *config, "--quiet", str(package)], cwd=ROOT)
    return package


def _files(directory: Path) -> set[str]:
    return {
        path.relative_to(directory).as_posix()
        for path in directory.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def differences(expected: Path, actual: Path) -> list[str]:
    """How `actual` (the committed package) differs from `expected` (a fresh one)."""
    wanted, present = _files(expected), _files(actual)
    problems = [f"missing: {name}" for name in sorted(wanted - present)]
    problems += [f"not generated: {name}" for name in sorted(present - wanted)]
    for name in sorted(wanted & present):
        if not filecmp.cmp(expected / name, actual / name, shallow=False):
            diff = difflib.unified_diff(
                (actual / name).read_text().splitlines(),
                (expected / name).read_text().splitlines(),
                f"committed/{name}",
                f"generated/{name}",
                lineterm="",
            )
            problems.append("\n".join(list(diff)[:40]))
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with examples/gql_client/, change nothing"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gql-codegen-") as scratch:
        fresh = generate(Path(scratch))
        if args.check:
            problems = differences(fresh, PACKAGE)
            if problems:
                print("\n".join(problems))
                raise SystemExit(
                    "examples/gql_client/ is not what schema.graphql and "
                    f"examples/operations.graphql generate; regenerate it: {REGENERATE}"
                )
            print("examples/gql_client/ is up to date")
            return
        shutil.rmtree(PACKAGE, ignore_errors=True)
        shutil.copytree(fresh, PACKAGE)
        print(f"wrote {PACKAGE.relative_to(ROOT)}/ ({len(_files(PACKAGE))} files)")


if __name__ == "__main__":
    main()
