"""Orders: what customers bought, at which price, and their cancellation."""
