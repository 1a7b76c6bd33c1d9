"""The storefront example (examples/storefront): static files served at /storefront/ in
development only, from the repository's checkout, under a strict Content-Security-Policy."""

import logging
from pathlib import Path

from starlette.staticfiles import StaticFiles

from gql.core.config import Settings

logger = logging.getLogger("gql.storefront")

PATH = "/storefront"
# An example, not part of the package: found next to gql/ in a checkout (an editable
# install); an installed wheel or the Docker image has no examples/ and serves no storefront.
DIRECTORY = Path(__file__).resolve().parents[2] / "examples" / "storefront"

# Scripts and styles from this origin only, no inline code or style attributes; product
# images may live on any https host; the API and its WebSocket on this origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def storefront_files(settings: Settings) -> StaticFiles | None:
    """The example's files; None in production, or (logged) when the directory is missing."""
    if settings.is_production:
        return None
    if not (DIRECTORY / "index.html").is_file():
        logger.info("no storefront example at %s: /storefront/ is not served", DIRECTORY)
        return None
    return StaticFiles(directory=DIRECTORY, html=True)
