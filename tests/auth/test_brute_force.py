"""Failed logins are counted per account and per address, in the database."""

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import LoginFailure
from tests.auth.helpers import login, register
from tests.conftest import FakeClock, execute


async def _failures(session: AsyncSession) -> int:
    count = int(await session.scalar(select(func.count()).select_from(LoginFailure)) or 0)
    await session.commit()  # end the read snapshot
    return count


async def test_five_failures_lock_the_account_until_the_window_passes(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    # given: five wrong passwords, a minute apart
    await register(client)
    for _ in range(5):
        assert (await login(client, password="wrong password"))["__typename"] == (
            "InvalidCredentialsError"
        )
        clock.advance(minutes=1)
    # when: the right password
    locked = await login(client)
    # then: refused until the first of the five leaves the 15-minute window
    assert locked["__typename"] == "RateLimitedError"
    assert locked["code"] == "RATE_LIMITED"
    assert locked["retryAfter"] == 10 * 60
    assert await _failures(session) == 5
    clock.advance(minutes=9, seconds=59)
    assert (await login(client))["__typename"] == "RateLimitedError"
    clock.advance(seconds=2)
    assert (await login(client))["__typename"] == "AuthPayload"
    assert await _failures(session) == 0


async def test_the_lock_is_per_account(client: httpx.AsyncClient) -> None:
    await register(client)
    await register(client, email="bob@example.com")
    for _ in range(5):
        await login(client, password="wrong password")
    assert (await login(client))["__typename"] == "RateLimitedError"
    assert (await login(client, email="bob@example.com"))["__typename"] == "AuthPayload"


async def test_fifty_failures_from_one_address_lock_it(client: httpx.AsyncClient) -> None:
    # given: 50 failures spread over many accounts from one client address
    await register(client, email="victim@example.com")
    for n in range(50):
        await login(client, email=f"guess{n}@example.com", password="wrong password")
    # when / then
    result = await login(client, email="victim@example.com")
    assert result["__typename"] == "RateLimitedError"


async def test_aliased_logins_in_one_document_each_count(client: httpx.AsyncClient) -> None:
    await register(client)
    fields = " ".join(
        f'a{n}: login(input: {{email: "ada@example.com", password: "wrong{n}!!"}}) {{ __typename }}'
        for n in range(7)
    )
    body = await execute(client, f"mutation {{ {fields} }}")
    typenames = [body["data"][f"a{n}"]["__typename"] for n in range(7)]
    assert typenames == ["InvalidCredentialsError"] * 5 + ["RateLimitedError"] * 2


async def test_limits_are_configurable(db: Any, database_url: str, clock: FakeClock) -> None:
    from gql.auth.sessions import AuthTools
    from gql.main import create_app
    from tests.conftest import make_settings

    settings = make_settings(
        database_url, login_max_failures_per_account=2, login_failure_window_seconds=60
    )
    app = create_app(settings, database=db, auth=AuthTools.from_settings(settings, clock))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await register(client)
        await login(client, password="wrong password")
        await login(client, password="wrong password")
        locked = await login(client)
        assert (locked["__typename"], locked["retryAfter"]) == ("RateLimitedError", 60)
        clock.advance(seconds=61)
        assert (await login(client))["__typename"] == "AuthPayload"


async def test_failures_for_an_unknown_account_count_and_lock_alike(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # given: five wrong logins for an address that has no account, spelled differently
    for n in range(5):
        result = await login(
            client, email=" Nobody@Example.com " if n % 2 else "nobody@example.com"
        )
        assert result["__typename"] == "InvalidCredentialsError"
    # when
    locked = await login(client, email="NOBODY@example.com")
    # then: locked out like a real account (no hint that it does not exist), the failures
    # recorded under the normalized address
    assert locked["__typename"] == "RateLimitedError"
    emails = set(await session.scalars(select(LoginFailure.email)))
    await session.commit()
    assert emails == {"nobody@example.com"}
    assert await _failures(session) == 5
