"""JWT access and refresh tokens (PyJWT): issued with every claim, decoded with all pinned."""

import base64
import hashlib
import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from gql.core.config import MIN_JWT_SECRET_BYTES, Settings
from gql.core.errors import ErrorCode, RequestError, Unauthenticated

TokenType = Literal["access", "refresh"]
REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "iss", "aud", "sid", "typ"]
# Tolerated clock skew between the processes that issue and check tokens.
ISSUED_AT_LEEWAY = timedelta(seconds=60)
# Verified tokens remembered per codec (a few hundred bytes each).
VERIFIED_TOKENS = 4096


class TokenExpired(RequestError):
    """A well-formed token whose lifetime is over."""

    code = ErrorCode.TOKEN_EXPIRED


class InvalidToken(Unauthenticated):
    """A token that is forged, malformed, of the wrong type or for another audience."""


@dataclass(frozen=True)
class TokenClaims:
    """The verified content of a token."""

    user_id: int
    session_id: str
    token_type: TokenType
    token_id: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    """A signed token and when it expires."""

    token: str
    expires_at: datetime


def token_digest(token: str) -> str:
    """What the database keeps of a refresh token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def _load_keys(settings: Settings) -> tuple[Any, Any]:
    if settings.jwt_algorithm == "HS256":
        secret = settings.jwt_secret.encode()
        if len(secret) < MIN_JWT_SECRET_BYTES:
            raise ValueError(f"JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes for HS256")
        return secret, secret
    if settings.jwt_private_key_file is None:
        raise ValueError(f"JWT_PRIVATE_KEY_FILE is required for {settings.jwt_algorithm}")
    private_key = serialization.load_pem_private_key(
        settings.jwt_private_key_file.read_bytes(), password=None
    )
    expected = RSAPrivateKey if settings.jwt_algorithm == "RS256" else Ed25519PrivateKey
    if not isinstance(private_key, expected):
        raise ValueError(f"JWT_PRIVATE_KEY_FILE is not a key for {settings.jwt_algorithm}")
    if settings.jwt_public_key_file is not None:
        public_key = serialization.load_pem_public_key(settings.jwt_public_key_file.read_bytes())
    else:
        public_key = private_key.public_key()
    return private_key, public_key


class TokenCodec:
    """Signs and verifies this service's tokens with one pinned algorithm."""

    def __init__(self, settings: Settings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.ttl: dict[TokenType, timedelta] = {
            "access": timedelta(seconds=settings.access_token_ttl_seconds),
            "refresh": timedelta(seconds=settings.refresh_token_ttl_seconds),
        }
        self._signing_key, self._verifying_key = _load_keys(settings)
        self.public_jwk = self._public_jwk()
        # Tokens whose signature and claims were verified: a client sends the same token
        # with every request, and checking a signature is most of what decoding costs.
        self._verified: OrderedDict[str, TokenClaims] = OrderedDict()

    def _public_jwk(self) -> dict[str, Any] | None:
        key = self._verifying_key
        if isinstance(key, RSAPublicKey):
            jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key, as_dict=True)
        elif isinstance(key, Ed25519PublicKey):
            jwk = OKPAlgorithm.to_jwk(key, as_dict=True)
        else:
            return None
        thumbprint = hashlib.sha256(json.dumps(jwk, sort_keys=True).encode()).digest()
        kid = base64.urlsafe_b64encode(thumbprint).decode().rstrip("=")
        return jwk | {"kid": kid, "alg": self.algorithm, "use": "sig"}

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public keys that verify our tokens (none for HS256, whose key is secret)."""
        return {"keys": [self.public_jwk] if self.public_jwk else []}

    def issue(
        self, *, user_id: int, session_id: str, token_type: TokenType, now: datetime
    ) -> IssuedToken:
        """A signed token for a user's session."""
        issued_at = int(now.timestamp())
        expires_at = datetime.fromtimestamp(
            issued_at + int(self.ttl[token_type].total_seconds()), tz=now.tzinfo
        )
        claims = {
            "sub": str(user_id),
            "sid": session_id,
            "typ": token_type,
            "jti": uuid.uuid4().hex,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": issued_at,
            "exp": int(expires_at.timestamp()),
        }
        headers = {"kid": self.public_jwk["kid"]} if self.public_jwk else None
        token = jwt.encode(claims, self._signing_key, algorithm=self.algorithm, headers=headers)
        return IssuedToken(token, expires_at)

    def decode(self, token: str, *, expected_type: TokenType, now: datetime) -> TokenClaims:
        """The claims of a genuine, current token of the expected type."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token, now)
            self._verified[token] = claims
            if len(self._verified) > VERIFIED_TOKENS:
                self._verified.popitem(last=False)
        else:
            self._verified.move_to_end(token)
        if claims.token_type != expected_type:
            article = "An" if expected_type == "access" else "A"
            raise InvalidToken(f"{article} {expected_type} token is required here.")
        if claims.issued_at > now + ISSUED_AT_LEEWAY:
            raise InvalidToken("The token is invalid.")
        if claims.expires_at <= now:
            raise TokenExpired("The token has expired.")
        return claims

    def _verify(self, token: str, now: datetime) -> TokenClaims:
        """The claims of a token with a valid signature, issuer and audience."""
        try:
            payload = jwt.decode(
                token,
                self._verifying_key,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                # Expiry is checked by `decode` against the injectable clock.
                options={"require": REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False},
            )
        except (jwt.InvalidTokenError, UnicodeEncodeError):
            # UnicodeEncodeError: a lone surrogate, which no token can contain.
            raise InvalidToken("The token is invalid.") from None
        try:
            return TokenClaims(
                user_id=int(payload["sub"]),
                session_id=str(payload["sid"]),
                token_type=payload["typ"],
                token_id=str(payload["jti"]),
                issued_at=datetime.fromtimestamp(int(payload["iat"]), tz=now.tzinfo),
                expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=now.tzinfo),
            )
        except (TypeError, ValueError, OverflowError):
            raise InvalidToken("The token is invalid.") from None
