"""Fixtures of the web tests: a headless Chromium page."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.web.browser import chromium_page


@pytest.fixture
async def browser_page(live_server: LiveServer) -> AsyncIterator[Any]:
    """A Chromium page (with the live server up) that records console errors, page errors,
    failed requests and CSP violations (read them with tests.web.browser.page_problems)."""
    async with chromium_page() as page:
        yield page
