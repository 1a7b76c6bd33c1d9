"""Runtime infrastructure: settings, the database, transactions, logs and metrics,
background jobs, and the error model the domains raise."""
