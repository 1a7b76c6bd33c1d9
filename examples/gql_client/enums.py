from enum import Enum


class StockMovementReason(str, Enum):
    RESTOCK = "RESTOCK"
    ADJUSTMENT = "ADJUSTMENT"
    ORDER = "ORDER"
    CANCELLATION = "CANCELLATION"
