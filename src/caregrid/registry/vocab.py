"""Closed vocabularies of the registry (names from GLOSSARY.md)."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    TERTIARY = "tertiary"
    SECONDARY = "secondary"
    PRIMARY = "primary"
    UNKNOWN = "unknown"


class Category(StrEnum):
    GENERAL_HOSPITAL = "general_hospital"
    TCM_HOSPITAL = "tcm_hospital"
    INTEGRATED_MEDICINE_HOSPITAL = "integrated_medicine_hospital"
    SPECIALTY_HOSPITAL = "specialty_hospital"
    REHABILITATION_HOSPITAL = "rehabilitation_hospital"
    NURSING_HOME = "nursing_home"
    MATERNAL_CHILD_HEALTH = "maternal_child_health"
    CDC = "cdc"
    SPECIALISED_PUBLIC_HEALTH = "specialised_public_health"
    COMMUNITY_HEALTH_CENTER = "community_health_center"
    TOWNSHIP_HEALTH_CENTER = "township_health_center"
    COMMUNITY_HEALTH_STATION = "community_health_station"
    VILLAGE_CLINIC = "village_clinic"
    UNKNOWN = "unknown"


class NetworkKind(StrEnum):
    URBAN_GROUP = "urban_group"
    COUNTY_COMMUNITY = "county_community"


class NetworkRole(StrEnum):
    LEAD = "lead"
    MEMBER = "member"
    COLLABORATOR = "collaborator"


class Tier(StrEnum):
    """A7: the tier a member works at (city, district, county, township, village)."""

    CITY = "city"
    DISTRICT = "district"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


TIER_ORDER = [Tier.CITY, Tier.DISTRICT, Tier.COUNTY, Tier.TOWNSHIP, Tier.VILLAGE]


class DivisionLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


class PilotLevel(StrEnum):
    PROVINCIAL = "provincial"
    OTHER = "other"
    UNKNOWN = "unknown"


class CrossGridKind(StrEnum):
    """A6: services that may run across grids."""

    MCH = "mch"
    TCM_ALLIANCE = "tcm_alliance"
    PUBLIC_HEALTH = "public_health"
    REHABILITATION_NURSING = "rehabilitation_nursing"
    SPECIALTY_ALLIANCE = "specialty_alliance"


class TitleLevel(StrEnum):
    """Professional title levels (初级 / 中级 / 副高 / 正高)."""

    JUNIOR = "junior"
    INTERMEDIATE = "intermediate"
    ASSOCIATE_SENIOR = "associate_senior"
    SENIOR = "senior"
