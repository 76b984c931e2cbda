"""Closed vocabularies of the chronic registry."""

from __future__ import annotations

from enum import StrEnum

from caregrid.chronic.standard import Condition


class EnrolmentStatus(StrEnum):
    SUSPECTED = "suspected"
    CONFIRMED = "confirmed"  # under management
    RULED_OUT = "ruled_out"


class VisitKind(StrEnum):
    SCREENING = "screening"
    CONFIRMATION = "confirmation"
    FOLLOW_UP = "follow_up"


class ConfirmedBy(StrEnum):
    READINGS = "readings"  # raised on enough different days
    DIAGNOSIS = "diagnosis"  # diagnosed here or at a higher-level institution
    REFERRAL = "referral"  # confirmed by the institution referred to


# ICD-10 codes a proposed referral carries (WHO ICD-10: essential hypertension; type 2
# diabetes mellitus without complications).
ICD10 = {Condition.HYPERTENSION: "I10", Condition.DIABETES: "E11.9"}
# The key-population tag a confirmed patient carries (data/key_populations.yaml, F2).
KEY_POPULATION = {Condition.HYPERTENSION: "hypertension", Condition.DIABETES: "diabetes"}
# The contract item a face-to-face follow-up delivers (data/packages/starter.yaml).
FOLLOW_UP_SERVICE = {
    Condition.HYPERTENSION: "hypertension_follow_up",
    Condition.DIABETES: "diabetes_follow_up",
}
