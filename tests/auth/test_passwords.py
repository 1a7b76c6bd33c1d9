"""Password hashing: the same work for unknown accounts, and never on the event loop."""

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gql.auth.sessions import AuthTools
from tests.auth.helpers import login, register
from tests.conftest import execute, without_cost

REGISTER_MINIMAL = """
mutation { register(input: {email: "gated@example.com", password: "correct horse battery"}) {
  __typename } }
"""
# Long enough never to expire while the test releases it; only a blocked loop waits it out.
RELEASE_TIMEOUT = 10


class RecordingVerify:
    """Stands in for the passlib context's verify_and_update and records each digest."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real = real
        self.digests: list[str] = []

    def __call__(self, password: str, digest: str) -> Any:
        self.digests.append(digest)
        return self.real(password, digest)


class Gate:
    """Wraps a blocking call so it waits, in whatever thread runs it, until released."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real = real
        self.entered = threading.Event()
        self.release = threading.Event()
        self.released_by_test: bool | None = None

    def __call__(self, *args: Any) -> Any:
        self.entered.set()
        self.released_by_test = self.release.wait(RELEASE_TIMEOUT)
        return self.real(*args)


async def test_unknown_email_is_verified_against_the_dummy_hash(
    client: httpx.AsyncClient, auth_tools: AuthTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the real passlib context watched from underneath the PasswordHasher wrapper
    await register(client)
    context = auth_tools.passwords.context
    recorder = RecordingVerify(context.verify_and_update)
    monkeypatch.setattr(context, "verify_and_update", recorder)
    # when
    wrong_password = await login(client, password="wrong password!")
    unknown_email = await login(client, email="nobody@example.com")
    # then: the same answer, after one real argon2 verification each
    assert wrong_password == unknown_email
    assert wrong_password["__typename"] == "InvalidCredentialsError"
    assert wrong_password["code"] == "INVALID_CREDENTIALS"
    assert len(recorder.digests) == 2
    assert recorder.digests[0].startswith("$argon2id$")
    assert recorder.digests[0] != auth_tools.passwords.dummy_hash
    assert recorder.digests[1] == auth_tools.passwords.dummy_hash


async def _other_request_completes_while_gated(
    client: httpx.AsyncClient, gate: Gate, operation: Any
) -> Any:
    task = asyncio.create_task(operation)
    # Waited for in a thread: a blocked event loop could not notice the gate otherwise.
    assert await asyncio.to_thread(gate.entered.wait, RELEASE_TIMEOUT)
    other = await execute(client, "{ __typename }")
    gate.release.set()
    result = await task
    assert without_cost(other) == {"data": {"__typename": "Query"}}
    return result


async def test_verification_runs_off_the_event_loop(
    client: httpx.AsyncClient, auth_tools: AuthTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a verification that holds until the test releases it
    await register(client)
    context = auth_tools.passwords.context
    gate = Gate(context.verify_and_update)
    monkeypatch.setattr(context, "verify_and_update", gate)
    # when: another request is served while a login is verifying
    result = await _other_request_completes_while_gated(client, gate, login(client))
    # then: the loop was free, so the test (not the timeout) released the verification
    assert gate.released_by_test is True
    assert result["__typename"] == "AuthPayload"


async def test_hashing_runs_off_the_event_loop(
    client: httpx.AsyncClient, auth_tools: AuthTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: hashing that holds until the test releases it
    context = auth_tools.passwords.context
    gate = Gate(context.hash)
    monkeypatch.setattr(context, "hash", gate)
    # when: another request is served while a registration is hashing
    result = await _other_request_completes_while_gated(
        client, gate, execute(client, REGISTER_MINIMAL)
    )
    # then
    assert gate.released_by_test is True
    assert result["data"]["register"]["__typename"] == "AuthPayload"
