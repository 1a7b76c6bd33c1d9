"""Execution: gql's executor (graphql-core's, with shortcuts), and what every document
passes before it runs: parsing and validation once per text, and the query limits."""
