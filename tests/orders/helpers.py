"""GraphQL operations of the order tests."""

from tests.factories import gid

PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    __typename
    ... on PlaceOrderSuccess {
      replayed
      order { id status total lines { quantity unitPrice lineTotal product { id sku } } customer { email } }
    }
    ... on InsufficientStockError { requested available shortages { productId requested available } }
    ... on UserError { code message field }
  }
}
"""

CANCEL = """
mutation($id: ID!) {
  cancelOrder(id: $id) {
    __typename
    ... on CancelOrderSuccess { order { id status cancelledAt } }
    ... on UserError { code message field }
  }
}
"""

ORDER = "query($id: ID!) { order(id: $id) { id status total customer { email } } }"
ORDERS = """
query($first: Int, $after: String) {
  orders(first: $first, after: $after) {
    totalCount edges { node { id total lines { quantity product { sku } } customer { email } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def lines(*pairs: tuple[int, int]) -> list[dict[str, object]]:
    """placeOrder lines from (product id, quantity) pairs."""
    return [
        {"productId": gid("Product", product_id), "quantity": quantity}
        for product_id, quantity in pairs
    ]
