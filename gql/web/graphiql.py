"""GraphiQL served from assets installed from the npm registry (gql/static), so it works
offline and under a strict CSP; Strawberry's CDN page only when the assets are missing."""

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

logger = logging.getLogger("gql.graphiql")

# The page, its script and the vendored npm builds (vendor/, made by `make assets`).
STATIC = Path(__file__).resolve().parent.parent / "static" / "graphiql"
VENDOR = STATIC / "vendor"
ASSETS_PATH = "/graphiql"  # the page at /graphql loads graphiql/... relative to itself

# Everything from this origin, no inline script. GraphiQL's editors style their elements
# through style attributes, which need 'unsafe-inline' for styles (never for scripts).
STRICT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Strawberry's page loads React and GraphiQL from unpkg, with an inline script.
CDN_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://unpkg.com; "
    "style-src 'self' 'unsafe-inline' https://unpkg.com; img-src 'self' data: https:; "
    "font-src 'self' data: https://unpkg.com; connect-src 'self' ws: wss:; "
    "frame-ancestors 'none'"
)


def _vendored() -> bool:
    manifest = VENDOR / "manifest.json"
    if not manifest.is_file():
        return False
    files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    return all((VENDOR / name).is_file() for name in files)


@dataclass(frozen=True)
class GraphiQLPage:
    """The IDE page and its Content-Security-Policy; `html` None means Strawberry's."""

    html: str | None
    csp: str

    @classmethod
    def load(cls) -> "GraphiQLPage":
        """Our page when the npm assets are in place, otherwise the CDN page (warned)."""
        if _vendored():
            return cls((STATIC / "index.html").read_text(encoding="utf-8"), STRICT_CSP)
        logger.warning(
            "GraphiQL assets are missing from %s (run `make assets`); serving the CDN "
            "page, which needs access to unpkg.com",
            VENDOR,
        )
        return cls(None, CDN_CSP)

    def assets(self) -> ASGIApp | None:
        """The static files of our page, compressed (GraphiQL is 3.5 MB unzipped)."""
        if self.html is None:
            return None
        return GZipMiddleware(StaticFiles(directory=STATIC))
