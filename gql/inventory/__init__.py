"""Inventory: stock levels, the append-only stock ledger and row locks."""
