"""Family-doctor teams, service packages, contracts and their fulfilment (E1-E6)."""
