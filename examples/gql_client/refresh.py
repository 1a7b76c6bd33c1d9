from pydantic import Field

from .base_model import BaseModel


class Refresh(BaseModel):
    refresh_token: "RefreshRefreshToken" = Field(alias="refreshToken")


class RefreshRefreshToken(BaseModel):
    access_token: str = Field(alias="accessToken")
    refresh_token: str = Field(alias="refreshToken")
    expires_in: int = Field(alias="expiresIn")


Refresh.model_rebuild()
