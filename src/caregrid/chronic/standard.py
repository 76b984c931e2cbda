"""The decision rules of the National Basic Public Health Service Standard, 3rd edition, for
hypertension and type 2 diabetes (F1): pure functions over readings, with every threshold
read from data/standards/nbphs-3.yaml. Glucose and temperature are Decimals, so 7.0 and
16.7 compare exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from caregrid import yamlio
from caregrid.errors import Problem
from caregrid.i18n import Message, msg


class Condition(StrEnum):
    HYPERTENSION = "hypertension"
    DIABETES = "diabetes"


# The words a refusal uses for a reading's measures.
MEASURE_NAMES = {"sbp": "systolic pressure", "dbp": "diastolic pressure", "fpg": "fasting glucose"}


class Assessment(StrEnum):
    CONTROLLED = "controlled"
    UNCONTROLLED = "uncontrolled"
    DANGER = "danger"


class Action(StrEnum):
    NEXT_ROUTINE = "next_routine"  # controlled: the next routine follow-up
    ADJUST_MEDICATION = "adjust_medication"  # first uncontrolled or side effects
    REFER = "refer"  # uncontrolled twice, intolerable side effects, new or worse complication
    URGENT_REFER = "urgent_refer"  # danger values or symptoms


@dataclass(frozen=True)
class Reading:
    sbp: int | None = None  # mmHg
    dbp: int | None = None
    fpg: Decimal | None = None  # fasting plasma glucose, mmol/L
    heart_rate: int | None = None  # beats per minute
    temperature: Decimal | None = None  # °C
    symptoms: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Visit:
    """What the doctor records at one face-to-face follow-up."""

    on: date
    reading: Reading
    side_effects: bool = False
    side_effects_intolerable: bool = False
    new_or_worse_complication: bool = False


@dataclass(frozen=True)
class Decision:
    assessment: Assessment
    action: Action
    next_due: date  # always set: no patient is left without a next due date
    reasons: tuple[Message, ...]


# --- the data file ---------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cited(_Strict):
    value: int
    source: str


class Thresholds(_Strict):
    """Any reading at or beyond one of the set thresholds meets the rule."""

    sbp_at_least: int | None = None
    dbp_at_least: int | None = None
    fpg_at_least: Decimal | None = None
    fpg_at_most: Decimal | None = None
    heart_rate_above: int | None = None
    temperature_above: Decimal | None = None
    source: str


class Targets(_Strict):
    """Controlled when every set target is met."""

    sbp_below: int | None = None
    dbp_below: int | None = None
    fpg_below: Decimal | None = None
    source: str


class Diagnoses(_Strict):
    """The ICD-10 categories that make a patient one of the condition's (I10 matches I10.x)."""

    codes: list[str]
    source: str

    def covers(self, code: str) -> bool:
        return any(code.upper().startswith(prefix) for prefix in self.codes)


class Screening(_Strict):
    min_age: Cited
    interval_days: Cited
    suspect: Thresholds
    confirmation_readings: Cited
    confirm_follow_days: Cited


class Symptom(_Strict):
    code: str
    zh: str
    en: str


class Symptoms(_Strict):
    source: str
    list: list[Symptom]


class ConditionRules(_Strict):
    icd10: Diagnoses
    screening: Screening
    danger: Thresholds
    controlled: Targets
    symptoms: Symptoms


class FollowUp(_Strict):
    min_per_year: Cited
    routine_days: Cited
    adjust_days: Cited
    referral_days: Cited


class Plausible(_Strict):
    sbp: tuple[int, int]
    dbp: tuple[int, int]
    fpg: tuple[Decimal, Decimal]
    heart_rate: tuple[int, int]
    temperature: tuple[Decimal, Decimal]


class Standard(_Strict):
    format: Literal["caregrid-standard/1"]
    name: str
    title_zh: str
    title_en: str
    follow_up: FollowUp
    conditions: dict[Condition, ConditionRules]
    plausible: Plausible

    def rules(self, condition: Condition) -> ConditionRules:
        return self.conditions[condition]

    def icd10_prefixes(self, *conditions: Condition) -> tuple[str, ...]:
        """The one definition of a hypertension or diabetes patient by diagnosis, for every
        count CareGrid makes of them (indicator filters, referral and chronic-care figures)."""
        return tuple(p for c in conditions or tuple(Condition) for p in self.rules(c).icd10.codes)

    def condition_of(self, code: str) -> Condition | None:
        """The condition an ICD-10 code makes a patient one of, or None."""
        return next((c for c, r in self.conditions.items() if r.icd10.covers(code)), None)

    def check_reading(self, condition: Condition, reading: Reading) -> list[Problem]:
        """Input check: what the condition needs, within plausible ranges, known symptoms."""
        problems: list[Problem] = []
        needed = ("sbp", "dbp") if condition == Condition.HYPERTENSION else ("fpg",)
        for name in needed:
            if getattr(reading, name) is None:
                problems.append(
                    Problem(
                        name,
                        msg(
                            "a {condition} reading needs {name}",
                            condition=condition,
                            name=Message(MEASURE_NAMES[name]),
                        ),
                    )
                )
        units = {
            "sbp": "mmHg",
            "dbp": "mmHg",
            "fpg": "mmol/L",
            "heart_rate": "/min",
            "temperature": "°C",
        }
        for name, unit in units.items():
            value = getattr(reading, name)
            low, high = getattr(self.plausible, name)
            if value is not None and not low <= value <= high:
                problems.append(
                    Problem(
                        name,
                        msg(
                            "{value} {unit} is outside {low}–{high} {unit}",
                            value=value,
                            unit=unit,
                            low=low,
                            high=high,
                        ),
                    )
                )
        if reading.sbp is not None and reading.dbp is not None and reading.sbp <= reading.dbp:
            problems.append(
                Problem(
                    "sbp",
                    msg(
                        "systolic {sbp} must exceed diastolic {dbp}",
                        sbp=reading.sbp,
                        dbp=reading.dbp,
                    ),
                )
            )
        known = {s.code for s in self.rules(condition).symptoms.list}
        for code in sorted(reading.symptoms - known):
            problems.append(
                Problem(
                    "symptoms",
                    msg(
                        "unknown danger symptom {code!r} for {condition}",
                        code=code,
                        condition=condition,
                    ),
                )
            )
        return problems

    def _beyond(self, rule: Thresholds, reading: Reading, label: Message) -> list[Message]:
        hits: list[Message] = []
        if (
            rule.sbp_at_least is not None
            and reading.sbp is not None
            and reading.sbp >= rule.sbp_at_least
        ):
            hits.append(
                msg(
                    "SBP {sbp} ≥ {limit} mmHg ({label})",
                    sbp=reading.sbp,
                    limit=rule.sbp_at_least,
                    label=label,
                )
            )
        if (
            rule.dbp_at_least is not None
            and reading.dbp is not None
            and reading.dbp >= rule.dbp_at_least
        ):
            hits.append(
                msg(
                    "DBP {dbp} ≥ {limit} mmHg ({label})",
                    dbp=reading.dbp,
                    limit=rule.dbp_at_least,
                    label=label,
                )
            )
        if (
            rule.fpg_at_least is not None
            and reading.fpg is not None
            and reading.fpg >= rule.fpg_at_least
        ):
            hits.append(
                msg(
                    "fasting glucose {fpg} ≥ {limit} mmol/L ({label})",
                    fpg=reading.fpg,
                    limit=rule.fpg_at_least,
                    label=label,
                )
            )
        if (
            rule.fpg_at_most is not None
            and reading.fpg is not None
            and reading.fpg <= rule.fpg_at_most
        ):
            hits.append(
                msg(
                    "fasting glucose {fpg} ≤ {limit} mmol/L ({label})",
                    fpg=reading.fpg,
                    limit=rule.fpg_at_most,
                    label=label,
                )
            )
        if (
            rule.heart_rate_above is not None
            and reading.heart_rate is not None
            and reading.heart_rate > rule.heart_rate_above
        ):
            hits.append(
                msg(
                    "heart rate {rate} > {limit}/min ({label})",
                    rate=reading.heart_rate,
                    limit=rule.heart_rate_above,
                    label=label,
                )
            )
        if (
            rule.temperature_above is not None
            and reading.temperature is not None
            and reading.temperature > rule.temperature_above
        ):
            hits.append(
                msg(
                    "temperature {temperature} > {limit} °C ({label})",
                    temperature=reading.temperature,
                    limit=rule.temperature_above,
                    label=label,
                )
            )
        return hits

    def _dangers(self, condition: Condition, reading: Reading) -> list[Message]:
        rules = self.rules(condition)
        hits = self._beyond(rules.danger, reading, Message("danger"))
        names = {s.code: s.en for s in rules.symptoms.list}
        hits.extend(
            msg("{symptom} (danger symptom)", symptom=Message(names[code]))
            for code in sorted(reading.symptoms)
            if code in names
        )
        return hits

    def _misses(self, condition: Condition, reading: Reading) -> list[Message]:
        target = self.rules(condition).controlled
        misses: list[Message] = []
        if (
            target.sbp_below is not None
            and reading.sbp is not None
            and reading.sbp >= target.sbp_below
        ):
            misses.append(
                msg(
                    "SBP {sbp} ≥ {limit} mmHg (not controlled)",
                    sbp=reading.sbp,
                    limit=target.sbp_below,
                )
            )
        if (
            target.dbp_below is not None
            and reading.dbp is not None
            and reading.dbp >= target.dbp_below
        ):
            misses.append(
                msg(
                    "DBP {dbp} ≥ {limit} mmHg (not controlled)",
                    dbp=reading.dbp,
                    limit=target.dbp_below,
                )
            )
        if (
            target.fpg_below is not None
            and reading.fpg is not None
            and reading.fpg >= target.fpg_below
        ):
            misses.append(
                msg(
                    "fasting glucose {fpg} ≥ {limit} mmol/L (not controlled)",
                    fpg=reading.fpg,
                    limit=target.fpg_below,
                )
            )
        return misses

    def assess(self, condition: Condition, reading: Reading) -> Assessment:
        if self._dangers(condition, reading):
            return Assessment.DANGER
        if self._misses(condition, reading):
            return Assessment.UNCONTROLLED
        return Assessment.CONTROLLED

    def decide(self, condition: Condition, visit: Visit, previous: Assessment | None) -> Decision:
        """The standard's decision at a follow-up, given the previous follow-up's assessment
        (a previous danger counts as not controlled)."""
        days = self.follow_up
        dangers = self._dangers(condition, visit.reading)
        misses = self._misses(condition, visit.reading)
        if dangers:
            return self._decision(
                Assessment.DANGER, Action.URGENT_REFER, visit, days.referral_days, dangers
            )
        assessment = Assessment.UNCONTROLLED if misses else Assessment.CONTROLLED
        reasons = list(misses)
        if visit.side_effects_intolerable:
            reasons.append(msg("drug side effects hard to control"))
        if visit.new_or_worse_complication:
            reasons.append(msg("new or worse complication"))
        again = misses and previous in (Assessment.UNCONTROLLED, Assessment.DANGER)
        if again:
            reasons.append(msg("not controlled twice in a row"))
        if again or visit.side_effects_intolerable or visit.new_or_worse_complication:
            return self._decision(assessment, Action.REFER, visit, days.referral_days, reasons)
        if misses or visit.side_effects:
            if visit.side_effects:
                reasons.append(msg("drug side effects"))
            return self._decision(
                assessment, Action.ADJUST_MEDICATION, visit, days.adjust_days, reasons
            )
        return self._decision(
            assessment,
            Action.NEXT_ROUTINE,
            visit,
            days.routine_days,
            [msg("controlled, no new complication")],
        )

    @staticmethod
    def _decision(
        assessment: Assessment, action: Action, visit: Visit, days: Cited, reasons: list[Message]
    ) -> Decision:
        return Decision(assessment, action, visit.on + timedelta(days=days.value), tuple(reasons))

    def is_suspected(self, condition: Condition, reading: Reading) -> bool:
        return bool(
            self._beyond(self.rules(condition).screening.suspect, reading, Message("raised"))
        )

    def confirmation_readings(self, condition: Condition) -> int:
        return self.rules(condition).screening.confirmation_readings.value

    def confirm_follow_days(self, condition: Condition) -> int:
        return self.rules(condition).screening.confirm_follow_days.value

    def screening_min_age(self, condition: Condition) -> int:
        return self.rules(condition).screening.min_age.value

    def screening_interval_days(self, condition: Condition) -> int:
        return self.rules(condition).screening.interval_days.value

    def min_follow_ups_per_year(self) -> int:
        return self.follow_up.min_per_year.value

    def targets(self, condition: Condition) -> list[Decimal]:
        """The condition's control targets (SBP and DBP, or fasting glucose), as set."""
        rule = self.rules(condition).controlled
        found = (rule.sbp_below, rule.dbp_below, rule.fpg_below)
        return [Decimal(v) for v in found if v is not None]

    def symptoms(self, condition: Condition) -> list[tuple[str, str, str]]:
        return [(s.code, s.zh, s.en) for s in self.rules(condition).symptoms.list]


def load_standard(path: Path | None = None) -> Standard:
    """The shipped standard (cached), or one from a file; InvalidInput names bad fields."""
    if path is None:
        return _shipped()
    return yamlio.validate(Standard, yamlio.load_file(path))


@lru_cache
def _shipped() -> Standard:
    text = resources.files("caregrid.data").joinpath("standards/nbphs-3.yaml").read_text("utf-8")
    return yamlio.validate(Standard, yamlio.load_text(text, "data/standards/nbphs-3.yaml"))
