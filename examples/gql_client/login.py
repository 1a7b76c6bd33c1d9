from typing import Literal, Union

from pydantic import Field

from .base_model import BaseModel


class Login(BaseModel):
    login: Union[
        "LoginLoginAuthPayload",
        "LoginLoginInvalidCredentialsError",
        "LoginLoginRateLimitedError",
    ] = Field(discriminator="typename__")


class LoginLoginAuthPayload(BaseModel):
    typename__: Literal["AuthPayload"] = Field(alias="__typename")
    access_token: str = Field(alias="accessToken")
    refresh_token: str = Field(alias="refreshToken")
    expires_in: int = Field(alias="expiresIn")
    user: "LoginLoginAuthPayloadUser"


class LoginLoginAuthPayloadUser(BaseModel):
    email: str


class LoginLoginInvalidCredentialsError(BaseModel):
    typename__: Literal["InvalidCredentialsError"] = Field(alias="__typename")
    code: str
    message: str


class LoginLoginRateLimitedError(BaseModel):
    typename__: Literal["RateLimitedError"] = Field(alias="__typename")
    code: str
    message: str


Login.model_rebuild()
LoginLoginAuthPayload.model_rebuild()
