"""Closed vocabularies of family-doctor care (names from GLOSSARY.md)."""

from __future__ import annotations

from enum import StrEnum


class TeamRole(StrEnum):
    """E1: who a team joins together."""

    GENERAL_PRACTITIONER = "general_practitioner"
    SPECIALIST = "specialist"
    NURSE = "nurse"
    PUBLIC_HEALTH = "public_health"
    TCM = "tcm"


class ContractStatus(StrEnum):
    ACTIVE = "active"
    TERMINATED = "terminated"
    RENEWED = "renewed"  # replaced by its renewal
    EXPIRED = "expired"  # past its term and replaced by a new signing


class TerminationReason(StrEnum):
    RESIDENT_REQUEST = "resident_request"
    MOVED_AWAY = "moved_away"
    DECEASED = "deceased"
    TEAM_CHANGE = "team_change"
    OTHER = "other"


class ConsentMethod(StrEnum):
    WRITTEN = "written"
    ELECTRONIC = "electronic"


class ConsentBy(StrEnum):
    RESIDENT = "resident"
    GUARDIAN = "guardian"


class ServiceKind(StrEnum):
    """E4/E5: what a delivered service is, matched to a contract's package items."""

    FOLLOW_UP = "follow_up"
    CHECK_UP = "check_up"
    EXAM = "exam"
    HOME_VISIT = "home_visit"
    FAMILY_SICKBED_DAY = "family_sickbed_day"
    CONSULTATION = "consultation"
    HEALTH_EDUCATION = "health_education"
