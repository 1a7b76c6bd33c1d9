"""Live events: the hub, subscriber queues and groups, the PostgreSQL listener, the
periodic session check, shared execution and the WebSocket handler."""
