"""Response caching of catalog reads, invalidated by a data version in the database."""
