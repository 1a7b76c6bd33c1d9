"""GraphQL operations and arrange helpers of the identity tests."""

from typing import Any

import httpx

from tests.conftest import execute

PASSWORD = "correct horse battery"
USER_ERROR = "... on UserError { code message field }"
PAYLOAD = "accessToken refreshToken tokenType expiresIn user { id email fullName isActive }"

REGISTER = f"""
mutation Register($input: RegisterInput!) {{
  register(input: $input) {{ __typename ... on AuthPayload {{ {PAYLOAD} }} {USER_ERROR} }}
}}
"""

LOGIN = f"""
mutation Login($input: LoginInput!) {{
  login(input: $input) {{
    __typename
    ... on AuthPayload {{ {PAYLOAD} }}
    ... on RateLimitedError {{ retryAfter }}
    {USER_ERROR}
  }}
}}
"""

REFRESH = f"""
mutation Refresh($token: String!) {{ refreshToken(refreshToken: $token) {{ {PAYLOAD} }} }}
"""

ME = "{ me { id email fullName isActive createdAt } }"
MY_SESSIONS = "{ mySessions { id current userAgent createdAt lastUsedAt expiresAt } }"
LOGOUT = "mutation { logout { revokedSessions } }"
LOGOUT_ALL = "mutation { logoutAll { revokedSessions } }"
REVOKE_SESSION = f"""
mutation Revoke($id: ID!) {{
  revokeSession(id: $id) {{ __typename ... on RevokeSessionSuccess {{ sessionId }} {USER_ERROR} }}
}}
"""
CHANGE_PASSWORD = f"""
mutation Change($input: ChangePasswordInput!) {{
  changePassword(input: $input) {{
    __typename ... on ChangePasswordSuccess {{ revokedSessions }} {USER_ERROR}
  }}
}}
"""
CREATE_ROLE = f"""
mutation($input: CreateRoleInput!) {{
  createRole(input: $input) {{
    __typename ... on RoleSuccess {{ role {{ id name description permissions {{ name }} }} }} {USER_ERROR}
  }}
}}
"""
SET_PERMISSIONS = f"""
mutation($input: SetRolePermissionsInput!) {{
  setRolePermissions(input: $input) {{
    __typename ... on RoleSuccess {{ role {{ name permissions {{ name }} }} }} {USER_ERROR}
  }}
}}
"""


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for an access token."""
    return {"Authorization": f"Bearer {token}"}


async def register(
    client: httpx.AsyncClient, email: str = "ada@example.com", password: str = PASSWORD
) -> dict[str, Any]:
    """A new account's AuthPayload."""
    body = await execute(
        client, REGISTER, {"input": {"email": email, "password": password, "fullName": "Ada"}}
    )
    payload: dict[str, Any] = body["data"]["register"]
    assert payload["__typename"] == "AuthPayload", payload
    return payload


async def login(
    client: httpx.AsyncClient,
    email: str = "ada@example.com",
    password: str = PASSWORD,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The result of a login (AuthPayload or an error)."""
    body = await execute(
        client, LOGIN, {"input": {"email": email, "password": password}}, headers=headers
    )
    result: dict[str, Any] = body["data"]["login"]
    return result


def error_code(body: dict[str, Any]) -> str:
    """The code of the first request-level error."""
    assert body.get("errors"), body
    code: str = body["errors"][0]["extensions"]["code"]
    return code
