"""The HTTP and WebSocket face of the service: router, middleware, rate limits."""
