"""Interoperability: FHIR R4 exchange with members' own systems (J3, J7)."""
