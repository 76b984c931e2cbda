"""Hypertension and type 2 diabetes: registry, screening and follow-up per the national
standard (F1, F2)."""
