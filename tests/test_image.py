"""The Docker image's layout, rebuilt from the Dockerfile without Docker: the package
installed (not editable), the runtime files it copies, and its CMD, serving."""

import json
import os
import shlex
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import httpx

from gql.web.graphiql import VENDOR
from tests.conftest import without_cost
from tests.servers import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
STRONG_SECRET = "image-test-" + "s" * 40


def _stages() -> list[dict[str, list[str]]]:
    """Per FROM: its COPY sources (from the build context or `--from` a stage), ENV pairs
    and CMD."""
    stages: list[dict[str, list[str]]] = []
    logical = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    for line in logical.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        instruction, args = words[0].upper(), words[1:]
        rest = line.strip()[len(words[0]) :].strip()
        if instruction == "FROM":
            stages.append({"copy": [], "from_stage": [], "env": [], "cmd": []})
        elif instruction == "COPY" and args[0].startswith("--from"):
            stages[-1]["from_stage"] += args[1:]
        elif instruction == "COPY":
            stages[-1]["copy"] += args[:-1]
        elif instruction == "ENV":
            stages[-1]["env"] += args
        elif instruction == "CMD":
            stages[-1]["cmd"] = json.loads(rest)  # the exec form
    return stages


def _ignored() -> list[str]:
    """The build context leaves these out (.dockerignore)."""
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip().removeprefix("**/") for line in lines if line.strip()]


def _copy(sources: list[str], into: Path) -> None:
    into.mkdir(parents=True)
    ignored = _ignored()

    def ignore(directory: str, names: list[str]) -> set[str]:
        relative = Path(directory).relative_to(ROOT)
        return {
            name
            for name in names
            if any(fnmatch(name, p) or fnmatch(str(relative / name), p) for p in ignored)
        }

    for source in sources:
        path = ROOT / source
        if path.is_dir():
            shutil.copytree(path, into / source, ignore=ignore)
        else:
            shutil.copy2(path, into / source)


def test_the_image_layout_migrates_and_serves(tmp_path: Path) -> None:
    # given: the build stage's files installed as the image installs them, the runtime
    # stage's files in its working directory
    graphiql, build, runtime = _stages()
    _copy(build["copy"], tmp_path / "src")
    # the graphiql stage runs `npm ci` and vendor.mjs, as `make assets` did here
    assert graphiql["copy"] == [
        "graphiql/package.json",
        "graphiql/package-lock.json",
        "graphiql/vendor.mjs",
    ]
    assert build["from_stage"] == ["/vendor", "./gql/static/graphiql/vendor"]
    shutil.copytree(VENDOR, tmp_path / "src" / "gql" / "static" / "graphiql" / "vendor")
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            ".",
        ],
        cwd=tmp_path / "src",
        check=True,
        capture_output=True,
        timeout=300,
    )
    _copy(runtime["copy"], tmp_path / "app")
    image_env = dict(pair.split("=", 1) for pair in runtime["env"])
    assert image_env.pop("HOST") == "0.0.0.0"  # here: 127.0.0.1 and a free port instead
    image_env.pop("PORT")
    settings = image_env | {
        "PATH": f"{site / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(site),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data.db'}",
        "JWT_SECRET": STRONG_SECRET,
    }
    assert image_env["ENV"] == "production"
    # when: the image's CMD
    server = ServerProcess(settings, cwd=tmp_path / "app", command=runtime["cmd"])
    try:
        server.start()
        response = httpx.post(
            f"{server.url}/graphql", json={"query": "{ products { totalCount } }"}, timeout=10
        )
        page = httpx.get(f"{server.url}/graphql", headers={"accept": "text/html"}, timeout=10)
        imported = subprocess.run(
            [sys.executable, "-c", "import gql; print(gql.__file__)"],
            env=os.environ | {"PYTHONPATH": str(site)},
            cwd=tmp_path / "app",
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        _, log = server.stop()
    # then: the installed package (not this checkout) migrated and served
    assert imported.startswith(str(site)), imported
    assert without_cost(response.json()) == {"data": {"products": {"totalCount": 0}}}, log
    assert "Running upgrade" in log
    assert page.status_code == 404  # no GraphiQL in production
    # the package carries GraphiQL's page and the npm builds (for development mode)
    installed = site / "gql" / "static" / "graphiql"
    for name in ("index.html", "app.js", "app.css", "vendor/graphiql.js", "vendor/manifest.json"):
        assert (installed / name).is_file(), name
