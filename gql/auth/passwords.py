"""Password hashing (argon2id via libpass's passlib API) and the password policy."""

import asyncio
import os
import secrets

from passlib.context import CryptContext

from gql.core.config import Settings
from gql.core.errors import InvalidInput
from gql.core.text import has_control_characters

MIN_LENGTH = 8
MAX_LENGTH = 128


class PasswordHasher:
    """Hashes and verifies passwords; older schemes and parameters are upgraded on login."""

    def __init__(self, settings: Settings) -> None:
        self.context = CryptContext(
            # pbkdf2_sha256 verifies hashes imported from older systems; deprecated="auto"
            # marks every scheme but the first for re-hashing.
            schemes=["argon2", "pbkdf2_sha256"],
            deprecated="auto",
            argon2__type="ID",
            argon2__time_cost=settings.argon2_time_cost,
            argon2__memory_cost=settings.argon2_memory_kib,
            argon2__parallelism=settings.argon2_parallelism,
        )
        # Verifying against this when the account does not exist costs the same work as a
        # real check, so the response time does not tell whether an email is registered.
        self.dummy_hash = self.hash(secrets.token_urlsafe(16))
        # A flood of logins queues here rather than take every core from other requests.
        self._hashing = asyncio.Semaphore(settings.argon2_concurrency or os.cpu_count() or 1)

    def hash(self, password: str) -> str:
        """A new hash of `password` with the current parameters (blocking)."""
        digest: str = self.context.hash(password)
        return digest

    def verify_and_update(self, password: str, digest: str | None) -> tuple[bool, str | None]:
        """Whether `password` matches, and a new hash if `digest` is outdated (blocking)."""
        valid, new_hash = self.context.verify_and_update(password, digest or self.dummy_hash)
        if digest is None:
            return False, None
        return bool(valid), new_hash

    # argon2 costs ~100 ms of CPU by design: request handlers use these, so other requests
    # keep flowing meanwhile (argon2-cffi releases the GIL while it hashes), at most
    # ARGON2_CONCURRENCY at a time.
    async def hash_in_thread(self, password: str) -> str:
        """`hash` in a worker thread."""
        async with self._hashing:
            return await asyncio.to_thread(self.hash, password)

    async def verify_and_update_in_thread(
        self, password: str, digest: str | None
    ) -> tuple[bool, str | None]:
        """`verify_and_update` in a worker thread (the dummy hash when `digest` is None)."""
        async with self._hashing:
            return await asyncio.to_thread(self.verify_and_update, password, digest)


def check_password_policy(password: str, email: str, field: str = "password") -> None:
    """8-128 characters, no control characters, and not the email address."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(
            f"The password must be {MIN_LENGTH} to {MAX_LENGTH} characters long.", field=field
        )
    if has_control_characters(password):
        raise InvalidInput("The password must not contain control characters.", field=field)
    if password.strip().lower() == email.strip().lower():
        raise InvalidInput("The password must not be the email address.", field=field)
