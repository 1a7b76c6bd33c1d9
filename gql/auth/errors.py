"""Expected failures of identity operations."""

from gql.auth.tokens import InvalidToken
from gql.core.errors import DomainError, Throttled


class EmailTaken(DomainError):
    """An account with this email exists already."""

    code = "EMAIL_TAKEN"


class InvalidCredentials(DomainError):
    """Unknown email, wrong password or inactive account: deliberately indistinguishable."""

    code = "INVALID_CREDENTIALS"

    def __init__(self, field: str | None = None) -> None:
        super().__init__("The email or password is incorrect.", field=field)


class LoginRateLimited(Throttled):
    """Too many failed logins for this account or from this address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed logins; try again in {retry_after} seconds.", retry_after
        )


class RefreshTokenReused(InvalidToken):
    """A retired refresh token came back: its whole session has been revoked."""
