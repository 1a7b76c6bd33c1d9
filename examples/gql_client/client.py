from collections.abc import AsyncIterator
from typing import Any

from .async_base_client import AsyncBaseClient
from .base_model import UNSET, UnsetType
from .login import Login
from .product_node import ProductNode
from .products import Products
from .refresh import Refresh
from .stock_changed import StockChanged


def gql(q: str) -> str:
    return q


class GqlClient(AsyncBaseClient):
    async def login(self, email: str, password: str, **kwargs: Any) -> Login:
        query = gql("""
            mutation Login($email: String!, $password: String!) {
              login(input: {email: $email, password: $password}) {
                __typename
                ... on AuthPayload {
                  accessToken
                  refreshToken
                  expiresIn
                  user {
                    email
                  }
                }
                ... on UserError {
                  code
                  message
                }
              }
            }
            """)
        variables: dict[str, object] = {"email": email, "password": password}
        response = await self.execute(
            query=query, operation_name="Login", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Login.model_validate(data)

    async def products(
        self, first: int, after: str | None | UnsetType = UNSET, **kwargs: Any
    ) -> Products:
        query = gql("""
            query Products($first: Int!, $after: String) {
              products(first: $first, after: $after) {
                totalCount
                edges {
                  node {
                    id
                    name
                    price
                    inStock
                  }
                }
                pageInfo {
                  hasNextPage
                  endCursor
                }
              }
            }
            """)
        variables: dict[str, object] = {"first": first, "after": after}
        response = await self.execute(
            query=query, operation_name="Products", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Products.model_validate(data)

    async def product_node(self, id: str, **kwargs: Any) -> ProductNode:
        query = gql("""
            query ProductNode($id: ID!) {
              node(id: $id) {
                __typename
                id
                ... on Product {
                  name
                  price
                  inStock
                }
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = await self.execute(
            query=query, operation_name="ProductNode", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return ProductNode.model_validate(data)

    async def stock_changed(
        self,
        product_ids: list[str] | None | UnsetType = UNSET,
        after: str | None | UnsetType = UNSET,
        **kwargs: Any,
    ) -> AsyncIterator[StockChanged]:
        query = gql("""
            subscription StockChanged($productIds: [ID!], $after: ID) {
              stockChanged(productIds: $productIds, after: $after) {
                id
                delta
                quantityAfter
                reason
                product {
                  sku
                  stock
                }
              }
            }
            """)
        variables: dict[str, object] = {"productIds": product_ids, "after": after}
        async for data in self.execute_ws(
            query=query, operation_name="StockChanged", variables=variables, **kwargs
        ):
            yield StockChanged.model_validate(data)

    async def refresh(self, refresh_token: str, **kwargs: Any) -> Refresh:
        query = gql("""
            mutation Refresh($refreshToken: String!) {
              refreshToken(refreshToken: $refreshToken) {
                accessToken
                refreshToken
                expiresIn
              }
            }
            """)
        variables: dict[str, object] = {"refreshToken": refresh_token}
        response = await self.execute(
            query=query, operation_name="Refresh", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Refresh.model_validate(data)
