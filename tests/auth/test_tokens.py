"""Token forgeries are refused; expiry is its own code; RS256/EdDSA keys and the JWKS."""

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from gql.auth.sessions import AuthTools
from gql.core.config import Settings
from gql.core.db import Database
from gql.main import create_app
from tests.auth.helpers import ME, REFRESH, bearer, error_code, register
from tests.conftest import FakeClock, execute, make_settings


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


async def _me_code(client: httpx.AsyncClient, token: str) -> str:
    return error_code(await execute(client, ME, headers=bearer(token)))


async def test_a_genuine_access_token_works(client: httpx.AsyncClient) -> None:
    payload = await register(client)
    body = await execute(client, ME, headers=bearer(payload["accessToken"]))
    assert body["data"]["me"]["email"] == "ada@example.com"
    claims = _claims(payload["accessToken"])
    assert set(claims) == {"sub", "exp", "iat", "jti", "iss", "aud", "sid", "typ"}
    assert (claims["iss"], claims["aud"], claims["typ"]) == ("gql", "gql-api", "access")


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda c, s: _unsigned(c), id="alg-none"),
        pytest.param(lambda c, s: jwt.encode(c, s, algorithm="HS512"), id="other-algorithm"),
        pytest.param(lambda c, s: jwt.encode(c, "x" * 40, algorithm="HS256"), id="bad-signature"),
        pytest.param(lambda c, s: jwt.encode(c | {"aud": "other"}, s), id="wrong-aud"),
        pytest.param(lambda c, s: jwt.encode(c | {"iss": "evil"}, s), id="wrong-iss"),
        pytest.param(lambda c, s: jwt.encode(c | {"typ": "refresh"}, s), id="wrong-type"),
        pytest.param(lambda c, s: jwt.encode(c | {"sub": "999999"}, s), id="other-user"),
        pytest.param(lambda c, s: jwt.encode(c | {"sid": "nope"}, s), id="unknown-session"),
        pytest.param(lambda c, s: "not.a.jwt", id="garbage"),
    ]
    + [
        pytest.param(
            lambda c, s, claim=claim: jwt.encode({k: v for k, v in c.items() if k != claim}, s),
            id=f"missing-{claim}",
        )
        for claim in ("sub", "exp", "iat", "jti", "iss", "aud", "sid", "typ")
    ],
)
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_forged_tokens_are_unauthenticated(
    client: httpx.AsyncClient, settings: Settings, forge: Any
) -> None:
    # given: the claims of a real token, re-signed or altered
    payload = await register(client)
    forged = forge(_claims(payload["accessToken"]), settings.jwt_secret)
    # when / then
    assert await _me_code(client, forged) == "UNAUTHENTICATED"


async def test_a_refresh_token_is_no_bearer_token(client: httpx.AsyncClient) -> None:
    payload = await register(client)
    body = await execute(client, ME, headers=bearer(payload["refreshToken"]))
    assert error_code(body) == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == "An access token is required here."


async def test_an_access_token_cannot_be_refreshed(client: httpx.AsyncClient) -> None:
    payload = await register(client)
    body = await execute(client, REFRESH, {"token": payload["accessToken"]})
    assert error_code(body) == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == "A refresh token is required here."


async def test_another_scheme_is_unauthenticated(client: httpx.AsyncClient) -> None:
    payload = await register(client)
    headers = {"Authorization": f"Basic {payload['accessToken']}"}
    assert error_code(await execute(client, ME, headers=headers)) == "UNAUTHENTICATED"


async def test_expired_tokens_are_token_expired(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    payload = await register(client)
    clock.advance(minutes=15)
    assert await _me_code(client, payload["accessToken"]) == "TOKEN_EXPIRED"
    clock.advance(days=14)
    body = await execute(client, REFRESH, {"token": payload["refreshToken"]})
    assert error_code(body) == "TOKEN_EXPIRED"


async def test_tokens_before_expiry_still_work(client: httpx.AsyncClient, clock: FakeClock) -> None:
    payload = await register(client)
    clock.advance(minutes=14, seconds=59)
    body = await execute(client, ME, headers=bearer(payload["accessToken"]))
    assert body["data"]["me"]["email"] == "ada@example.com"


def _write_keys(tmp_path: Path, algorithm: str) -> tuple[Path, Path]:
    key: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm == "RS256"
        else ed25519.Ed25519PrivateKey.generate()
    )
    private = tmp_path / "jwt.pem"
    public = tmp_path / "jwt.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@pytest.mark.parametrize("algorithm", ["RS256", "EdDSA"])
async def test_asymmetric_keys_and_jwks(
    db: Database, database_url: str, tmp_path: Path, algorithm: str
) -> None:
    # given: an app signing with a key pair
    private, public = _write_keys(tmp_path, algorithm)
    settings = make_settings(
        database_url,
        jwt_algorithm=algorithm,
        jwt_private_key_file=private,
        jwt_public_key_file=public,
    )
    app = create_app(settings, database=db, auth=AuthTools.from_settings(settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        payload = await register(client)
        jwks = (await client.get("/.well-known/jwks.json")).json()
        me = await execute(client, ME, headers=bearer(payload["accessToken"]))
        # an HS256 token "signed" with the public key must not pass (algorithm confusion)
        confused = jwt.encode(
            _claims(payload["accessToken"]),
            public.read_bytes().decode().replace("\n", "")[:64],
            algorithm="HS256",
        )
        confused_code = error_code(await execute(client, ME, headers=bearer(confused)))
    # then
    assert me["data"]["me"]["email"] == "ada@example.com"
    assert confused_code == "UNAUTHENTICATED"
    (jwk,) = jwks["keys"]
    assert jwk["alg"] == algorithm
    assert jwk["kid"] == jwt.get_unverified_header(payload["accessToken"])["kid"]
    verifying_key = jwt.PyJWK(jwk).key
    claims = jwt.decode(
        payload["accessToken"], verifying_key, algorithms=[algorithm], audience="gql-api"
    )
    assert claims["typ"] == "access"


async def test_hs256_publishes_no_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/.well-known/jwks.json")).json() == {"keys": []}


def test_short_secret_is_refused(database_url: str) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        AuthTools.from_settings(make_settings(database_url, jwt_secret="too-short"))
