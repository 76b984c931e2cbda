"""The rules a referral is written under (B2, B4, B6, B7): its direction from the two
institutions' tiers, the disease catalogs, the green channel and the deductible, each in one
function named after what it decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.errors import InvalidInput, Problem, RuleViolation, Translate
from caregrid.familydoctor import service as familydoctor
from caregrid.i18n import Message, msg
from caregrid.policy import icd10
from caregrid.policy import service as policy
from caregrid.policy.schema import CatalogKind, Profile
from caregrid.referral import catalogs
from caregrid.referral.schemas import CatalogHint, DiagnosisCheck, ReferralIn
from caregrid.referral.vocab import DeductibleRule, Direction
from caregrid.registry import service as registry
from caregrid.registry.vocab import TIER_ORDER, Level, Tier

# The catalog whose diseases a referring tier treats itself (B2): referring one of them up
# asks for a justification.
TIER_CATALOGS: dict[str, tuple[CatalogKind, ...]] = {
    Tier.DISTRICT: ("tier_district",),
    Tier.COUNTY: ("tier_county",),
    Tier.TOWNSHIP: ("member_first_visit", "tier_township"),
    Tier.VILLAGE: ("member_first_visit", "tier_township"),
}


def network_profile(session: Session, network_id: int | None) -> Profile | None:
    if network_id is None:
        return None
    return policy.get(registry.get_network_by_id(session, network_id).profile)


@dataclass(frozen=True)
class Route:
    direction: Direction
    network_id: int | None
    from_tier: str | None


def route(session: Session, from_id: int, to_id: int) -> Route:
    """Direction from the two institutions' tiers in the network they share; no shared network
    makes the referral outward (another grid, or out of the city)."""
    mine = registry.placements(session, from_id)
    theirs = {p.network_id: p for p in registry.placements(session, to_id)}
    for place in mine:
        other = theirs.get(place.network_id)
        if other is None:
            continue
        here, there = TIER_ORDER.index(Tier(place.tier)), TIER_ORDER.index(Tier(other.tier))
        direction = (
            Direction.UP if there < here else Direction.DOWN if there > here else Direction.LATERAL
        )
        return Route(direction, place.network_id, place.tier)
    home = mine[0] if mine else None
    return Route(Direction.OUTWARD, home.network_id if home else None, home.tier if home else None)


def catalog_context(
    session: Session, institution_id: int | None, target_id: int | None
) -> tuple[int | None, list[CatalogKind]]:
    """For a referral from this institution (to `target_id` when known): the network whose
    catalogs apply, and the catalog kinds whose diseases ask for a justification to go up."""
    if institution_id is None:
        return None, []
    if target_id is not None and target_id != institution_id:
        found = route(session, institution_id, target_id)
        network_id, tier = found.network_id, found.from_tier
    else:
        places = registry.placements(session, institution_id)
        network_id = places[0].network_id if places else None
        tier = places[0].tier if places else None
    return network_id, list(TIER_CATALOGS.get(tier or "", ()))


def diagnosis_refusal(code: str) -> Message | None:
    """Why a referral cannot carry this diagnosis code (B2: catalogs use ICD-10), or None."""
    try:
        icd10.who_stem(code)
    except icd10.Icd10Error as exc:
        return msg("{reason} (B2: catalogs use ICD-10)", reason=exc.message)
    return None


def check_diagnosis(
    session: Session, network_id: int | None, code: str, translate: Translate = str
) -> DiagnosisCheck:
    """Is the code ICD-10, and which of the network's catalogs hold it (the form's hints, in
    `translate`'s language)."""
    try:
        stem = icd10.who_stem(code)
    except icd10.Icd10Error as exc:
        return DiagnosisCheck(
            code=code, valid=False, title=None, message=exc.message.render(translate), hits=[]
        )
    hits = []
    if network_id is not None:
        for found in catalogs.all_catalogs(session, network_id):
            entry = found.match(stem)
            if entry is not None:
                hits.append(
                    CatalogHint(
                        kind=found.kind,
                        entry=entry.entry,
                        name_zh=entry.name_zh,
                        name_en=entry.name_en,
                        requirement=found.requirement,
                    )
                )
    return DiagnosisCheck(
        code=icd10.normalise(code), valid=True, title=icd10.describe(stem), message=None, hits=hits
    )


def first_visit_hit(check: DiagnosisCheck, from_tier: str | None) -> CatalogHint | None:
    """B2: the disease is on a catalog of what the referring tier treats itself."""
    kinds = TIER_CATALOGS.get(from_tier or "", ())
    return next((h for h in check.hits if h.kind in kinds), None)


def needs_outward_approval(
    check: DiagnosisCheck, sender: registry.Institution, receiver: registry.Institution
) -> bool:
    """B2: a keep-in-city disease referred out of the city needs the network office."""
    out_of_city = sender.city_id != receiver.city_id
    return out_of_city and any(h.kind == "keep_in_city" for h in check.hits)


def green_channel(
    session: Session, resident_id: int, sender: registry.Institution, direction: str
) -> bool:
    """B4: a signed resident referred up by a primary institution."""
    return (
        direction == Direction.UP
        and sender.level == Level.PRIMARY
        and familydoctor.is_signed(session, resident_id, clock.today())
    )


def deductible_rule(
    session: Session, route_: Route, sender: registry.Institution, admission: bool
) -> DeductibleRule:
    """B7: an in-network referred admission with a primary first visit pays no second
    inpatient deductible, where the profile says so (GZ-C 三(六))."""
    if not admission:
        return DeductibleRule.NOT_ADMISSION
    profile = network_profile(session, route_.network_id)
    waived = profile is not None and bool(
        profile.parameter("no_second_inpatient_deductible", clock.today())
    )
    in_network = route_.direction in (Direction.UP, Direction.LATERAL)
    if waived and in_network and sender.level == Level.PRIMARY:
        return DeductibleRule.WAIVED_SECOND
    return DeductibleRule.STANDARD


DEDUCTIBLE_TEXT = {
    DeductibleRule.WAIVED_SECOND: Message(
        "B7: in-network referred admission after a primary first visit; the second inpatient "
        "deductible is not charged again (GZ-C 三(六))"
    ),
    DeductibleRule.STANDARD: Message(
        "standard: the admission pays the receiving hospital's inpatient deductible"
    ),
    DeductibleRule.NOT_ADMISSION: Message("not an admission: no inpatient deductible applies"),
}


def _apply_rules(data: ReferralIn, route_: Route, check: DiagnosisCheck) -> None:
    """The rules that refuse a referral outright, each naming its requirement."""
    if route_.direction == Direction.DOWN:
        missing = [
            name
            for name in ("discharge_summary", "follow_up_plan")
            if not (getattr(data, name) or "").strip()
        ]
        if missing:
            raise RuleViolation(
                "a downward referral hands over the discharge summary and the follow-up plan; "
                "missing: {missing}",
                missing=", ".join(missing),
                requirement="B5",
            )
    hit = first_visit_hit(check, route_.from_tier) if route_.direction == Direction.UP else None
    if hit is not None and not (data.justification or "").strip():
        raise RuleViolation(
            "{code} is on the {kind} catalog ({entry} {name_zh}): first visits stay at the "
            "member unit; give a justification to refer it up",
            code=check.code,
            kind=Message(hit.kind),
            entry=hit.entry,
            name_zh=hit.name_zh,
            requirement="B2",
        )
    if route_.direction == Direction.OUTWARD and not (data.patient_choice_reason or "").strip():
        raise RuleViolation(
            "the receiving institution is outside the patient's network; record the reason "
            "for the patient's choice (patient_choice_reason)",
            requirement="B6",
        )
    if data.submit and not data.consent:
        raise InvalidInput(
            [Problem("consent", "the patient's consent is needed to send a referral")]
        )
