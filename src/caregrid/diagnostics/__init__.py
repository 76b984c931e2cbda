"""Shared diagnostic centres, orders and reports, and mutual recognition of results (D1-D4)."""
