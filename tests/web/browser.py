"""Headless Chromium for the browser tests: a page that records every problem it meets."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Runs in every document before its own scripts; page_problems reads what it kept.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber}`
  );
}, true);
"""


@asynccontextmanager
async def chromium_page() -> AsyncIterator[Any]:
    """A Chromium page whose console errors, page errors and failed requests land in
    `page.problems`, and whose CSP violations are recorded in the page."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Chromium is required under CI=true ({CHROMIUM}; `make test` installs it)")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.async_api import async_playwright

    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await page.add_init_script(RECORD_CSP_VIOLATIONS)
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
        page.problems = problems
        try:
            yield page
        finally:
            await browser.close()


async def page_problems(page: Any) -> list[str]:
    """Everything that went wrong on the page so far, CSP violations of this document included."""
    violations = await page.evaluate("() => window.__cspViolations || []")
    return [*page.problems, *(f"CSP: {violation}" for violation in violations)]


def screenshot_path(name: str) -> str:
    """Where a test leaves its screenshot (test-output/browser/)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return str(OUTPUT / name)
