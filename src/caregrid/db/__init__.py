"""Database: engine, sessions, declarative base, Alembic migrations."""
