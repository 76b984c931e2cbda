"""CareGrid: the platform integrated medical networks run on."""

__version__ = "0.1.0"
