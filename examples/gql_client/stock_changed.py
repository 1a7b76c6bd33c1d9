from pydantic import Field

from .base_model import BaseModel
from .enums import StockMovementReason


class StockChanged(BaseModel):
    stock_changed: "StockChangedStockChanged" = Field(alias="stockChanged")


class StockChangedStockChanged(BaseModel):
    id: str
    delta: int
    quantity_after: int | None = Field(alias="quantityAfter")
    reason: StockMovementReason
    product: "StockChangedStockChangedProduct"


class StockChangedStockChangedProduct(BaseModel):
    sku: str
    stock: int | None


StockChanged.model_rebuild()
StockChangedStockChanged.model_rebuild()
