"""gql: a GraphQL commerce and inventory API."""

__version__ = "0.1.0"
