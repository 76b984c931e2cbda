"""Accounts, roles, sessions and tokens, access rules, and the append-only audit log."""
