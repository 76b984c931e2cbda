"""Resident records: the people a network serves, and the identifiers that name them."""
