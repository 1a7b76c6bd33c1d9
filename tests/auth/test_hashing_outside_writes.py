"""Password hashing never holds a write lock: sign-ups and failed logins leave other writes
alone (SQLite's single writer included), and the lockout still holds against concurrent
guesses. Password checks of changePassword count with failed logins; deactivation ends
sessions for good; names refuse invisible characters."""

import asyncio
import threading
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.models import LoginFailure, User
from gql.auth.passwords import PasswordHasher
from gql.auth.sessions import AuthTools
from gql.auth.tokens import TokenCodec
from gql.core.config import Settings
from gql.core.db import Database
from gql.main import create_app
from tests.auth.helpers import (
    CHANGE_PASSWORD,
    LOGIN,
    MY_SESSIONS,
    PASSWORD,
    REFRESH,
    REGISTER,
    bearer,
    error_code,
    login,
    register,
)
from tests.auth.test_admin import SET_ACTIVE
from tests.conftest import execute
from tests.factories import gid, make_product, signed_in

# Not a timing: only a write stuck behind a held hash ever comes near it.
DEADLOCK_GUARD = 30.0

ADJUST = """
mutation($id: ID!) { adjustStock(productId: $id, delta: 1, reason: RESTOCK) { __typename } }
"""


async def _count(session: AsyncSession, *conditions: Any) -> int:
    count = await session.scalar(select(func.count()).select_from(LoginFailure).where(*conditions))
    await session.commit()  # end the read snapshot
    return int(count or 0)


class GatedHasher(PasswordHasher):
    """A hasher whose hashes wait at a gate, so a test can hold them in flight, and which
    counts the requests that reached their hash."""

    def __init__(self, settings: Settings) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.hashing = 0
        super().__init__(settings)

    def hash(self, password: str) -> str:
        self.gate.wait(timeout=2 * DEADLOCK_GUARD)
        return super().hash(password)

    def verify_and_update(self, password: str, digest: str | None) -> tuple[bool, str | None]:
        self.gate.wait(timeout=2 * DEADLOCK_GUARD)
        return super().verify_and_update(password, digest)

    async def hash_in_thread(self, password: str) -> str:
        self.hashing += 1
        return await super().hash_in_thread(password)

    async def verify_and_update_in_thread(
        self, password: str, digest: str | None
    ) -> tuple[bool, str | None]:
        self.hashing += 1
        return await super().verify_and_update_in_thread(password, digest)


async def test_signups_and_failed_logins_leave_other_writes_alone(
    db: Database, settings: Settings, session: AsyncSession
) -> None:
    # given: hashes that wait at a gate, and a staff member who adjusts stock
    hasher = GatedHasher(settings)
    tools = AuthTools(settings, hasher, TokenCodec(settings))
    app = create_app(settings, database=db, auth=tools)
    transport = httpx.ASGITransport(app=app)
    product = await make_product(session, "P", stock=1)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        staff = await signed_in(client, db, "staff@example.com", "staff")

        async def sign_up(n: int) -> str:
            variables = {"input": {"email": f"new{n}@example.com", "password": PASSWORD}}
            return str(
                (await execute(client, REGISTER, variables))["data"]["register"]["__typename"]
            )

        async def fail(n: int) -> str:
            variables = {"input": {"email": f"guess{n}@example.com", "password": "wrong pass"}}
            return str((await execute(client, LOGIN, variables))["data"]["login"]["__typename"])

        async def all_at_their_hash() -> None:
            while hasher.hashing < 70:
                await asyncio.sleep(0.01)

        # when: 20 sign-ups and 50 failed logins from one address at once, all held at
        # their hash, while the staff member adjusts stock five times
        hasher.gate.clear()
        hasher.hashing = 0
        signups = asyncio.gather(*(sign_up(n) for n in range(20)))
        failures = asyncio.gather(*(fail(n) for n in range(50)))
        try:
            # a request holding a lock through its hash would keep others from theirs,
            # and the adjustments waiting, until a guard fires
            await asyncio.wait_for(all_at_their_hash(), DEADLOCK_GUARD)
            adjusted = [
                await asyncio.wait_for(
                    execute(client, ADJUST, {"id": gid("Product", product.id)}, staff),
                    DEADLOCK_GUARD,
                )
                for _ in range(5)
            ]
        finally:
            hasher.gate.set()
        signed_up, failed = await signups, await failures
        blocked = await login(client, "staff@example.com")
    # then: every adjustment went through while the hashes were still waiting
    assert [body["data"]["adjustStock"]["__typename"] for body in adjusted] == [
        "AdjustStockSuccess"
    ] * 5, adjusted
    assert set(signed_up) == {"AuthPayload"}
    # exactly the failures are counted, and the address's lockout (50) holds
    assert set(failed) == {"InvalidCredentialsError"}
    assert await _count(session) == 50
    assert blocked["__typename"] == "RateLimitedError"


async def test_concurrent_guesses_get_no_more_tries_than_sequential_ones(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # given
    await register(client)
    # when: twenty wrong passwords for one account at once
    answers = await asyncio.gather(
        *(login(client, password=f"wrong password {n}") for n in range(20))
    )
    # then: five were counted, the others refused unseen; the right one is refused too
    kinds = [answer["__typename"] for answer in answers]
    assert kinds.count("InvalidCredentialsError") == 5, kinds
    assert kinds.count("RateLimitedError") == 15
    assert await _count(session, LoginFailure.email == "ada@example.com") == 5
    assert (await login(client))["__typename"] == "RateLimitedError"


async def test_wrong_current_passwords_count_as_failed_logins(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # given: a stolen access token
    token = (await register(client))["accessToken"]
    wrong = {"input": {"currentPassword": "a guess 1234", "newPassword": "taken over 123"}}
    # when: five guesses through changePassword
    for _ in range(5):
        body = await execute(client, CHANGE_PASSWORD, wrong, bearer(token))
        assert body["data"]["changePassword"]["code"] == "INVALID_CREDENTIALS"
    # then: the sixth is refused, even with the right password, and so is a login
    right = {"input": {"currentPassword": PASSWORD, "newPassword": "taken over 123"}}
    body = await execute(client, CHANGE_PASSWORD, right, bearer(token))
    refused = body["data"]["changePassword"]
    assert refused["code"] == "RATE_LIMITED"
    assert (await login(client))["__typename"] == "RateLimitedError"
    assert await _count(session, LoginFailure.email == "ada@example.com") == 5


async def test_deactivation_ends_sessions_for_good(
    client: httpx.AsyncClient, db: Database, session: AsyncSession
) -> None:
    # given: a signed-in user, and an admin
    payload = await register(client)
    admin = await signed_in(client, db, "root@example.com", "admin")
    user_id = await session.scalar(select(User.id).where(User.email == "ada@example.com"))
    await session.commit()
    # when: deactivated, then activated again
    for active in (False, True):
        body = await execute(
            client,
            SET_ACTIVE,
            {"input": {"userId": gid("User", user_id), "isActive": active}},
            admin,
        )
        assert body["data"]["setUserActive"]["__typename"] == "UserSuccess", body
    # then: neither token of the old session works
    access = bearer(payload["accessToken"])
    assert error_code(await execute(client, MY_SESSIONS, headers=access)) == "UNAUTHENTICATED"
    refreshed = await execute(client, REFRESH, {"token": payload["refreshToken"]})
    assert error_code(refreshed) == "UNAUTHENTICATED"
    # and a new login does
    assert (await login(client))["__typename"] == "AuthPayload"


async def test_names_refuse_bidirectional_and_invisible_characters(
    client: httpx.AsyncClient,
) -> None:
    for name in ("Ada\u202eecilA", "A\u200bda", "Ad\u2066a", "\ufeffAda", "Ad\u00ada"):
        variables = {"input": {"email": "x@example.com", "password": PASSWORD, "fullName": name}}
        # when
        result = (await execute(client, REGISTER, variables))["data"]["register"]
        # then
        assert (result["__typename"], result["field"]) == ("ValidationError", "fullName")
    variables = {
        "input": {"email": "y@example.com", "password": PASSWORD, "fullName": "Ada Lovelace"}
    }
    result = (await execute(client, REGISTER, variables))["data"]["register"]
    assert result["user"]["fullName"] == "Ada Lovelace"
