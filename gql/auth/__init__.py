"""Identity: users, passwords, JWT access/refresh tokens and sessions."""
