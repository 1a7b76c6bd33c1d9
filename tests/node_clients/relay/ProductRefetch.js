// The operations of relay.mjs, for relay-compiler only: it reads the graphql tags below
// against ../../../schema.graphql and writes their artifacts to __generated__/ (the test
// suite compiles them; the directory is not committed). Nothing imports this module: without
// Relay's Babel plugin a graphql tag throws when it runs, so relay.mjs imports the artifacts.
import { graphql } from "relay-runtime";

export const products = graphql`
  query ProductRefetchListQuery($first: Int!) {
    products(first: $first) {
      edges {
        node {
          id
          name
          price
        }
      }
    }
  }
`;

export const node = graphql`
  query ProductRefetchNodeQuery($id: ID!) {
    node(id: $id) {
      ... on Product {
        id
        name
        price
      }
    }
  }
`;
