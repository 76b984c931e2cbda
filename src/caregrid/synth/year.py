"""One generation run of the synthetic city: the city, its residents, the writer and the
counters of every id, with the lookup tables every monthly draw shares (diagnoses and their
departments, the centre each recognition item goes to, who visits and who is admitted). The
parts of the city take it so ids stay unique across them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from caregrid.diagnostics import catalog as catalogs
from caregrid.diagnostics.vocab import CentreKind
from caregrid.errors import DomainError
from caregrid.finance import service as finance
from caregrid.synth.draws import Array, Calendar, by_level
from caregrid.synth.layout import City
from caregrid.synth.rates import AgeWeights, Diagnoses, Rates
from caregrid.synth.residents import Residents, Sampler, per_age
from caregrid.synth.writer import Writer

# The shared centres that read orders, as ByCentre names them (diagnostics.vocab.CentreKind).
KINDS = (CentreKind.LABORATORY.value, CentreKind.IMAGING.value, CentreKind.ECG.value)


def centre_kind(code: str) -> int:
    """The index in KINDS of the centre that performs a recognition-catalog item."""
    found = catalogs.starter().get(code)
    if found is None or found.centre.value not in KINDS:
        raise DomainError("synth item {code!r} is not an item a shared centre reads", code=code)
    return KINDS.index(found.centre.value)


class Year:
    """One generation run: the city, its residents, the writer, the counters of every id and
    the lookup tables the monthly draws share."""

    def __init__(
        self, city: City, rates: Rates, people: Residents, cal: Calendar, seed: int, out: Writer
    ) -> None:
        self.city = city
        self.rates = rates
        self.people = people
        self.cal = cal
        self.seed = seed
        self.out = out
        self.y = str(cal.year)
        self.next_encounter = 1
        self.next_referral = 1
        self.next_diagnostic = 1
        self.item_kind = np.array(
            [centre_kind(i.code) for i in self.rates.recognition.items.items], dtype=np.int8
        )
        self.next_order = 1
        self.next_claim = 1
        self.dip = finance.dip_table()
        self.pool = city.div_pool[people.div]
        self.county = city.div_county[people.div]
        enc, inp = rates.encounter, rates.inpatient
        # Diagnoses: one code list for every source, and each code's department.
        condition_codes = [rates.chronic.diagnosis.hypertension, rates.chronic.diagnosis.diabetes]
        codes: list[str] = []
        departments: list[str] = []
        for d in [*enc.diagnoses.codes, *inp.diagnoses.codes]:
            if d.code not in codes:
                codes.append(d.code)
                departments.append(d.department)
        for code in condition_codes:
            if code not in codes:
                codes.append(code)
                departments.append("gen")
        self.dx_codes = pa.array(codes, pa.string())
        dept_names = sorted(set(departments))
        self.dept_codes = pa.array(dept_names, pa.string())
        self.dx_dept = np.array([dept_names.index(d) for d in departments], dtype=np.int32)
        self.dx_hypertension = codes.index(condition_codes[0])
        self.dx_diabetes = codes.index(condition_codes[1])
        self.visit_dx = self._dx_list(enc.diagnoses, codes)
        self.admission_dx = self._dx_list(inp.diagnoses, codes)
        self.others = self._other_diagnoses(codes)
        # Who visits and who is admitted: weights by age x chronic (china.yaml, ours), scaled
        # to 6.0 visits and 0.175 admissions a person a year (公报2022).
        top = rates.population.age_structure.top_age
        classes = people.age.astype(np.int32) * 2 + people.chronic
        self.visits = self._sampler(
            classes, enc.visit_weight_by_age, enc.chronic_visit_multiplier.value, top
        )
        self.visits_a_year = enc.visits_per_person.value * people.n
        self.admissions = self._sampler(
            classes, inp.admission_weight_by_age, inp.chronic_admission_multiplier.value, top
        )
        self.admissions_a_year = inp.admissions_per_person.value * people.n
        self.outpatient_cost = by_level(enc.outpatient_cost_cny)
        # rows drawn in a month but dated in a later one wait here for their month
        self.carry_encounters: list[dict[str, Array]] = []
        self.carry_referrals: list[dict[str, Array]] = []

    def claim_seq(self, n: int) -> Array:
        """The next `n` claim numbers of the year."""
        seq = np.arange(self.next_claim, self.next_claim + n, dtype=np.int64)
        self.next_claim += n
        return seq

    @staticmethod
    def _dx_list(diagnoses: Diagnoses, codes: list[str]) -> tuple[Array, Array]:
        index = np.array([codes.index(d.code) for d in diagnoses.codes], dtype=np.int32)
        weights = np.array([d.weight for d in diagnoses.codes], dtype=np.float64)
        return index, weights / weights.sum()

    def _other_diagnoses(self, codes: list[str]) -> pa.Array:
        """`other_diagnosis_codes` by (patient's chronic bits, principal is I10, is E11.9): the
        patient's other known chronic conditions."""
        hyp, dia = codes[self.dx_hypertension], codes[self.dx_diabetes]
        texts: list[str | None] = []
        for key in range(8):
            has_h, has_d, principal_h = key & 1, key & 2, key & 4
            extra = [c for c, has in ((hyp, has_h and not principal_h), (dia, has_d)) if has]
            texts.append(";".join(extra) or None)
        return pa.array(texts, pa.string())

    @staticmethod
    def _sampler(classes: Array, by_age: AgeWeights, chronic: float, top: int) -> Sampler:
        ages = per_age(by_age, top)
        class_weight = np.repeat(ages, 2) * np.tile([1.0, chronic], top + 1)
        return Sampler(classes, class_weight)
