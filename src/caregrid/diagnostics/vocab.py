"""Closed vocabularies of shared diagnostics (names from GLOSSARY.md)."""

from __future__ import annotations

from enum import StrEnum


class CentreKind(StrEnum):
    """D1: the shared centres of a network."""

    LABORATORY = "laboratory"
    IMAGING = "imaging"
    ECG = "ecg"
    PATHOLOGY = "pathology"
    STERILISATION = "sterilisation"


class ItemKind(StrEnum):
    TEST = "test"  # data from a laboratory
    EXAM = "exam"  # images and data (X-ray, ultrasound, ECG, ...)


class OrderState(StrEnum):
    ORDERED = "ordered"
    SCHEDULED = "scheduled"
    ACQUIRED = "acquired"
    REPORTED = "reported"
    DELIVERED = "delivered"
    RECOGNISED = "recognised"  # a valid prior result was reused instead
    CANCELLED = "cancelled"


class RepeatReason(StrEnum):
    """The six situations in which the national rules allow a repeat (INDICATORS.md)."""

    CONDITION_CHANGED = "condition_changed"
    FAST_CHANGING = "fast_changing"
    CRITICAL_FOR_TREATMENT = "critical_for_treatment"
    EMERGENCY = "emergency"
    MEDICO_LEGAL = "medico_legal"
    OTHER = "other"


class RecognitionScope(StrEnum):
    """How far recognition reaches (profile `recognition_scope`)."""

    NETWORK = "network"
    CITY = "city"
    PROVINCE = "province"


class RecognitionDirection(StrEnum):
    """Whose results an institution accepts (profile `recognition_direction`)."""

    SAME_OR_HIGHER = "same_or_higher"
    ANY = "any"


class ConsultState(StrEnum):
    """A teleconsultation (D4): requested -> scheduled -> answered -> closed."""

    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    ANSWERED = "answered"
    CLOSED = "closed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class SupplyState(StrEnum):
    """A sterile instrument package: requested -> dispatched -> returned."""

    REQUESTED = "requested"
    DISPATCHED = "dispatched"
    RETURNED = "returned"


class AssessmentResult(StrEnum):
    """The outcome of an external quality assessment (室间质评): only a pass makes results
    eligible for recognition (D3)."""

    PASSED = "passed"
    FAILED = "failed"
