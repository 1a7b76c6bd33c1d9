from decimal import Decimal
from typing import Annotated, Literal, Union

from pydantic import Field

from .base_model import BaseModel


class ProductNode(BaseModel):
    node: (
        Annotated[
            Union["ProductNodeNodeNode", "ProductNodeNodeProduct"],
            Field(discriminator="typename__"),
        ]
        | None
    )


class ProductNodeNodeNode(BaseModel):
    typename__: Literal[
        "Node", "Order", "ProductImage", "Role", "Session", "StockMovement", "User"
    ] = Field(alias="__typename")
    id: str


class ProductNodeNodeProduct(BaseModel):
    typename__: Literal["Product"] = Field(alias="__typename")
    id: str
    name: str
    price: Decimal
    in_stock: bool = Field(alias="inStock")


ProductNode.model_rebuild()
