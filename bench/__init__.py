"""The benchmark harness of gql (`make bench`): seeds, serves, loads, measures, reports."""
