"""A small hand-computed set of facts, imported into the store and exported to Parquet."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from caregrid.activity.export import export
from caregrid.activity.facts import fact
from caregrid.activity.importer import import_file

NET = "jh-rmyy-wucheng"  # both institutions below are its members
PRIMARY, LEAD = "jh-wc-chengdong", "jh-rmyy"
ENCOUNTERS = [
    # id, institution, kind, date, diagnosis, surgery level, insurance paid
    ("e1", PRIMARY, "outpatient", "2025-01-03", "I10", "", "50"),
    ("e2", PRIMARY, "outpatient", "2025-01-04", "I10", "", "50"),
    ("e3", PRIMARY, "outpatient", "2025-01-05", "J06.9", "", "50"),
    ("e4", PRIMARY, "emergency", "2025-01-06", "J06.9", "", "50"),
    ("e5", LEAD, "outpatient", "2025-01-07", "I10", "", "100"),
    ("e6", LEAD, "outpatient", "2025-01-08", "K29.7", "", "100"),
    ("e7", LEAD, "discharge", "2025-01-09", "I21.9", "3", "1000"),
    ("e8", LEAD, "discharge", "2025-01-10", "K80.2", "1", "1000"),
    ("e9", LEAD, "discharge", "2025-01-11", "J18.9", "", "1000"),
    ("e10", PRIMARY, "outpatient", "2025-02-03", "E11.9", "", "50"),
    ("e11", LEAD, "outpatient", "2025-02-04", "E11.9", "", "100"),
]
ADMISSIONS = [  # id, institution, date, the referral it answers (RF5)
    ("m1", LEAD, "2025-01-06", "r1"),
    ("m2", LEAD, "2025-01-08", ""),
]
OTHER = "jh-zyy"  # the city TCM hospital: a member of no network
JINDONG, JD_MEMBER = "jh-zxyy-jindong", "jh-jd-duohu"
AREA_ENCOUNTERS = [  # March 2023: where patients live decides the network (CC1, CC2, CC4, RF3)
    # id, institution, kind, date, home division, insurance pool, insurance paid
    ("a1", LEAD, "outpatient", "2023-03-03", "330702-chengdong", "", "100"),  # Wucheng: in
    ("a2", OTHER, "outpatient", "2023-03-04", "330702-chengdong", "", "60"),  # out
    ("a3", LEAD, "discharge", "2023-03-05", "330702-chengdong", "", "1000"),  # in
    ("a4", OTHER, "discharge", "2023-03-06", "330702-chengdong", "", "500"),  # out
    ("a5", LEAD, "outpatient", "2023-03-07", "330703", "330703", "100"),  # Jindong: out
    ("a6", JD_MEMBER, "outpatient", "2023-03-08", "330703", "330703", "30"),  # in
    ("a7", PRIMARY, "outpatient", "2023-03-09", "330799-elsewhere", "", "10"),  # no grid
]
CAPACITY = [  # resource, institution, department, date, total, reserved
    ("slot", LEAD, "card", "2025-01-06", "300", "100"),  # exactly one third
    ("slot", LEAD, "card", "2025-01-07", "300", "99"),
    ("bed", LEAD, "card", "2025-01-06", "40", "10"),
]
BOOKINGS = [  # id, pool, status, date: at the lead's cardiology, booked by the community centre
    ("b1", "reserved", "attended", "2025-01-06"),
    ("b2", "reserved", "cancelled", "2025-01-06"),  # not a use of the reserved slot
    ("b3", "public", "attended", "2025-01-07"),
]
ORDERS = [  # id, ordering, centre kind, acquired at the member, hours to report, within promise
    ("d1", PRIMARY, "ecg", "true", "2", "true"),  # exactly the two hours promised
    ("d2", PRIMARY, "laboratory", "false", "30", "false"),
    ("d3", PRIMARY, "imaging", "true", "", ""),  # not reported yet
    ("d4", LEAD, "laboratory", "false", "4", "true"),
]
REFERRALS = [  # id, from, to, direction, date, state, closed loop
    ("r1", PRIMARY, LEAD, "up", "2025-01-05", "completed", ""),
    ("r2", PRIMARY, LEAD, "up", "2025-01-20", "sent", ""),
    ("r3", LEAD, PRIMARY, "down", "2025-01-25", "completed", "true"),
    ("r4", LEAD, PRIMARY, "down", "2025-02-10", "completed", "false"),
]
PATIENTS = [  # patient, condition, managed from
    ("P1", "hypertension", "2024-06-01"),
    ("P2", "hypertension", "2023-03-01"),
    ("P3", "diabetes", "2025-01-01"),
    ("P4", "hypertension", "2026-01-01"),  # after the period: not yet managed
]
FOLLOW_UPS = [  # P1: 4 in 2025; P2: 3 in 2025 and one in December 2024; P3: 4
    # controlled at each visit: P1's last (31 December) is not; P2's last in 2025 is
    *[(f"f1{i}", "P1", "hypertension", d, ok) for i, (d, ok) in
      enumerate([("2025-01-10", "true"), ("2025-04-10", "true"), ("2025-07-10", "true"),
                 ("2025-12-31", "false")])],
    *[(f"f2{i}", "P2", "hypertension", d, ok) for i, (d, ok) in
      enumerate([("2024-12-20", "false"), ("2025-03-10", "false"), ("2025-06-10", "false"),
                 ("2025-09-10", "true")])],
    *[(f"f3{i}", "P3", "diabetes", d, "true") for i, d in
      enumerate(["2025-01-05", "2025-04-05", "2025-07-05", "2025-10-05"])],
]  # fmt: skip
CONTRACTS = [  # valid on 2025-12-31: c1 and c3 (starting that very day); c2 ended
    ("c1", "P1", "2023-03-01", "2026-02-28"),
    ("c2", "P2", "2024-01-01", "2024-12-31"),
    ("c3", "P3", "2025-12-31", "2026-12-30"),
]
BORN = {"P4": "2008-01-01", "P5": "2007-12-31"}  # P5 turns 18 on 2025-12-31, P4 a day later
KEY_POPULATIONS = {"P1": "elderly", "P2": "elderly", "P5": "children_0_6"}  # P3, P4: none
STAFF = [  # id, institution, profession, title, TCM, posted from, months, as of
    ("s1", PRIMARY, "doctor", "intermediate", "false", LEAD, "6", "2025-12-31"),  # 6: counts
    ("s2", PRIMARY, "doctor", "senior", "false", LEAD, "5", "2025-12-31"),  # 5: too short
    ("s3", PRIMARY, "doctor", "junior", "false", LEAD, "12", "2025-12-31"),  # junior title
    ("s4", PRIMARY, "doctor", "intermediate", "true", "", "", "2025-12-31"),
    ("s5", PRIMARY, "nurse", "junior", "false", "", "", "2025-12-31"),
    ("s6", LEAD, "doctor", "senior", "false", "", "", "2025-12-31"),
    ("s7", PRIMARY, "doctor", "junior", "true", "", "", "2024-12-31"),  # last year's list
]
TRAINING = [  # id, institution, staff, date, passed, kind (H5 counts modular courses)
    ("t1", PRIMARY, "s1", "2023-03-01", "true", "modular"),
    ("t2", PRIMARY, "s1", "2025-06-01", "true", "modular"),  # s1 once
    ("t3", PRIMARY, "s4", "2023-03-01", "false", "modular"),
    ("t4", PRIMARY, "s5", "2024-12-31", "true", "modular"),  # before the period
    ("t5", PRIMARY, "s7", "2025-05-01", "true", "modular"),  # not on this year's list
    ("t6", LEAD, "s6", "2025-12-31", "true", "modular"),  # the period's last day
    ("t7", PRIMARY, "s2", "2025-04-01", "true", "clinical"),  # not a modular course
    ("t8", PRIMARY, "s3", "2025-04-01", "true", ""),  # a course of no kind
]
RECOGNITIONS = [  # id, institution, item, date, decision, reason, price
    ("o1", LEAD, "lipid_panel", "2025-01-15", "reused", "", "40"),
    ("o2", LEAD, "ecg_12", "2025-01-16", "reused", "", "25"),
    ("o3", LEAD, "chest_xray", "2025-01-17", "repeated", "condition_changed", "80"),
]


def _write(path: Path, header: list[str], rows: Sequence[tuple[str, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def facts(session: Session, tmp_path: Path) -> Path:
    files = {
        "encounter": _write(
            tmp_path / "enc.csv",
            ["encounter_id", "institution_code", "department_code", "patient_id",
             "home_division_code", "kind", "date", "diagnosis_code", "other_diagnosis_codes",
             "surgery_level", "drg_weight", "total_cost_cny", "insurance_paid_cny",
             "insured_division_code", "referral_id"],
            [(i, inst, "", "P1", "330702-chengdong", kind, day, dx, "", level, "", "0", paid,
              "", "") for i, inst, kind, day, dx, level, paid in ENCOUNTERS]
            + [(i, inst, "", "P9", home, kind, day, "J06.9", "", "", "", "0", paid, pool, "")
               for i, inst, kind, day, home, pool, paid in AREA_ENCOUNTERS]
            + [(i, inst, "", "P1", "330702-chengdong", "admission", day, "I21.9", "", "", "",
                "0", "0", "", ref) for i, inst, day, ref in ADMISSIONS],
        ),
        "capacity": _write(
            tmp_path / "cap.csv",
            ["resource", "institution_code", "department_code", "date", "total", "reserved"],
            CAPACITY,
        ),
        "referral": _write(
            tmp_path / "ref.csv",
            ["referral_id", "from_institution_code", "to_institution_code", "direction",
             "patient_id", "diagnosis_code", "date", "state", "closed_loop"],
            [(i, a, b, d, "P1", "I10", day, state, loop)
             for i, a, b, d, day, state, loop in REFERRALS],
        ),
        "recognition": _write(
            tmp_path / "rec.csv",
            ["order_id", "institution_code", "item_code", "date", "decision", "reason",
             "price_cny"],
            RECOGNITIONS,
        ),
        "chronic_patient": _write(
            tmp_path / "cp.csv",
            ["patient_id", "condition", "institution_code", "managed_from"],
            [(p, c, PRIMARY, d) for p, c, d in PATIENTS],
        ),
        "chronic_follow_up": _write(
            tmp_path / "fu.csv",
            ["follow_up_id", "patient_id", "condition", "institution_code", "date", "controlled"],
            [(i, p, c, PRIMARY, d, ok) for i, p, c, d, ok in FOLLOW_UPS],
        ),
        "contract": _write(
            tmp_path / "con.csv",
            ["contract_id", "patient_id", "institution_code", "starts_on", "ends_on"],
            [(i, p, PRIMARY, a, b) for i, p, a, b in CONTRACTS],
        ),
        "resident": _write(  # five residents registered at the community centre
            tmp_path / "res.csv",
            ["patient_id", "home_division_code", "birth_date", "sex", "key_populations",
             "registered_institution_code", "as_of"],
            [(f"P{n}", "330702-chengdong", BORN.get(f"P{n}", "1950-01-01"), "male",
              KEY_POPULATIONS.get(f"P{n}", ""), PRIMARY, "2025-12-31") for n in range(1, 6)],
        ),
        "booking": _write(
            tmp_path / "book.csv",
            ["booking_id", "institution_code", "department_code", "booked_by_institution_code",
             "pool", "status", "date", "referral_id"],
            [(i, LEAD, "card", PRIMARY, pool, status, day, "")
             for i, pool, status, day in BOOKINGS],
        ),
        "diagnostic_order": _write(
            tmp_path / "orders.csv",
            ["order_id", "institution_code", "centre_institution_code", "centre_kind",
             "item_code", "date", "state", "acquired_at_member", "turnaround_hours",
             "within_turnaround"],
            [(i, who, LEAD, kind, f"{kind}_item", "2025-01-12",
              "delivered" if hours else "ordered", acquired, hours, within)
             for i, who, kind, acquired, hours, within in ORDERS],
        ),
        "staff": _write(
            tmp_path / "staff.csv",
            ["staff_id", "institution_code", "profession", "title_level", "tcm",
             "posted_from_institution_code", "posted_months", "as_of"],
            STAFF,
        ),
        "training": _write(
            tmp_path / "training.csv",
            ["record_id", "institution_code", "staff_id", "course", "kind", "date", "passed"],
            [(i, inst, who, "general_practice", k, d, ok) for i, inst, who, d, ok, k in TRAINING],
        ),
    }  # fmt: skip
    for name, path in files.items():
        import_file(session, path, fact(name))
    root = tmp_path / "facts"
    export(session, root)
    return root
