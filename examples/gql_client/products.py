from decimal import Decimal

from pydantic import Field

from .base_model import BaseModel


class Products(BaseModel):
    products: "ProductsProducts"


class ProductsProducts(BaseModel):
    total_count: int = Field(alias="totalCount")
    edges: list["ProductsProductsEdges"]
    page_info: "ProductsProductsPageInfo" = Field(alias="pageInfo")


class ProductsProductsEdges(BaseModel):
    node: "ProductsProductsEdgesNode"


class ProductsProductsEdgesNode(BaseModel):
    id: str
    name: str
    price: Decimal
    in_stock: bool = Field(alias="inStock")


class ProductsProductsPageInfo(BaseModel):
    has_next_page: bool = Field(alias="hasNextPage")
    end_cursor: str | None = Field(alias="endCursor")


Products.model_rebuild()
ProductsProducts.model_rebuild()
ProductsProductsEdges.model_rebuild()
