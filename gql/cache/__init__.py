"""Response caching of catalog reads, invalidated as finely as the data changes."""
