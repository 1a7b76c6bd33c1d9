"""GraphQL plumbing shared by every domain: schema composition, context, execution,
limits, permissions, pagination and connections, scalars, ids, user errors, and the one
module that touches Strawberry's and graphql-core's internals (compat)."""
