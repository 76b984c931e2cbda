"""The `caregrid` command."""
