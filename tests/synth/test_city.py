"""The synthetic city: the same arguments write the same bytes; every row is valid for its fact
declaration and lands in its month; the facts agree with each other; the population and the
activity come out near the rates file; a bad rates file is refused naming the key; the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from caregrid.activity.facts import FACTS, Fact, Kind
from caregrid.activity.parquet import schema
from caregrid.errors import InvalidInput
from caregrid.policy.icd10 import is_who_code
from caregrid.registry.vocab import Level
from caregrid.synth import rates as synth_rates
from caregrid.synth.city import generate
from caregrid.synth.layout import load_layout

RESIDENTS = 3_000
YEAR = 2024
SEED = 11
FIRST, LAST = date(YEAR, 1, 1), date(YEAR, 12, 31)
MONTHS = {f"{YEAR}-{m:02d}" for m in range(1, 13)}
DRAWN = tuple(f for f in FACTS if not f.own)  # a closed settlement is CareGrid's, not drawn
PATIENT_FACTS = ("encounter", "referral", "contract", "chronic_follow_up", "chronic_patient")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "a"
    generate("jinhua", RESIDENTS, YEAR, SEED, out)
    return out


@pytest.fixture(scope="module")
def db(root: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    for f in DRAWN:
        con.execute(
            f"CREATE VIEW {f.name} AS SELECT * FROM read_parquet('{root}/{f.name}/*/*.parquet')"
        )
    yield con
    con.close()


@pytest.fixture(scope="module")
def rates() -> synth_rates.Rates:
    return synth_rates.load()


def files(root: Path, name: str) -> list[Path]:
    return sorted((root / name).glob("month=*/*.parquet"))


def read(root: Path, f: Fact) -> pa.Table:
    return pa.concat_tables([pq.ParquetFile(p).read() for p in files(root, f.name)])


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    row = con.execute(sql).fetchone()
    assert row is not None
    return float(row[0])


def digest(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def test_same_seed_writes_the_same_bytes_and_another_seed_differs(
    root: Path, tmp_path: Path
) -> None:
    counts = generate("jinhua", RESIDENTS, YEAR, SEED, tmp_path / "b")
    assert digest(tmp_path / "b") == digest(root)
    assert all(counts[f.name] > 0 for f in DRAWN)
    generate("jinhua", RESIDENTS, YEAR, SEED + 1, tmp_path / "c")
    other = digest(tmp_path / "c")
    same = digest(root)
    for name in ("resident", "encounter", "contract"):
        mine = {k: v for k, v in same.items() if k.startswith(name + "/")}
        theirs = {k: v for k, v in other.items() if k.startswith(name + "/")}
        assert mine != theirs, name


def test_a_second_run_replaces_its_own_files_only(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    generate("jinhua", 400, YEAR, 5, out)
    foreign = out / "encounter" / f"month={YEAR}-01" / "part-export.parquet"
    foreign.write_bytes(b"not ours")
    stale = out / "chronic_patient" / "month=1999-01" / "part-synth-0.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an earlier run's")
    generate("jinhua", 400, YEAR, 5, out)
    assert foreign.read_bytes() == b"not ours"
    assert not stale.parent.exists()


def test_the_smallest_city_is_written_with_the_facts_it_has(tmp_path: Path) -> None:
    # One resident: no managed chronic patient, no follow-up; those facts get no file.
    counts = generate("jinhua", 1, YEAR, 5, tmp_path / "one")
    assert counts["resident"] == 1
    assert counts["chronic_patient"] == counts["chronic_follow_up"] == 0
    assert files(tmp_path / "one", "chronic_patient") == []
    assert counts["capacity"] > 0  # the hospitals' slots and beds do not depend on residents


def test_every_fact_has_files_in_its_months_with_its_schema(root: Path) -> None:
    for f in FACTS:
        paths = files(root, f.name)
        if f.own:  # CareGrid's own result (a closed settlement): the city draws none
            assert paths == [], f.name
            continue
        assert paths, f.name
        for path in paths:
            month = path.parent.name.removeprefix("month=")
            if f.name == "chronic_patient":
                assert month <= f"{YEAR}-12"  # managed from an earlier year: that month
            elif f.name == "financial_statement":  # the books of the year and the one before
                assert month in MONTHS | {f"{YEAR - 1}-{m:02d}" for m in range(1, 13)}, month
            else:
                assert month in MONTHS, (f.name, month)
            data = pq.ParquetFile(path).read()
            assert data.schema.equals(schema(f)), f.name
            dated = data.column(f.date).cast(pa.string())
            assert pc.all(pc.starts_with(dated, month)).as_py(), (f.name, month)


def test_every_value_is_valid_for_its_declaration(root: Path) -> None:
    layout = load_layout("jinhua")
    institutions = {i.code for i in layout.institutions}
    networks = {n.code for n in layout.networks}
    for f in DRAWN:
        data = read(root, f)
        for field in f.fields:
            column = data.column(field.name)
            if field.required:
                assert column.null_count == 0, (f.name, field.name)
            present = pc.drop_null(column)
            if field.choices:
                assert set(pc.unique(present).to_pylist()) <= set(field.choices), field.name
            if field.low is not None and len(present):
                assert pc.min(present).as_py() >= field.low, (f.name, field.name)
            if field.high is not None and len(present):
                assert pc.max(present).as_py() <= field.high, (f.name, field.name)
            if field.institution:
                assert set(pc.unique(present).to_pylist()) <= institutions, (f.name, field.name)
            if field.network:
                assert set(pc.unique(present).to_pylist()) <= networks, (f.name, field.name)
            if field.icd10:
                assert all(is_who_code(c) for c in pc.unique(present).to_pylist()), field.name
            dated = field.kind is Kind.DATE and f.name not in ("resident", "chronic_patient")
            if dated and len(present):  # an optional date the city does not draw is empty
                low, high = pc.min_max(present).values()
                first = date(YEAR - 1, 1, 1) if f.name == "financial_statement" else FIRST
                assert low.as_py() >= first and high.as_py() <= date(YEAR + 1, 12, 31)


def test_natural_keys_are_unique(db: duckdb.DuckDBPyConnection) -> None:
    for f in DRAWN:
        keys = ", ".join(f.key)
        rows = scalar(db, f"SELECT count(*) FROM {f.name}")
        distinct = scalar(db, f"SELECT count(*) FROM (SELECT DISTINCT {keys} FROM {f.name})")
        assert rows == distinct, f.name


def test_patients_are_residents_and_ids_are_fixed_width(db: duckdb.DuckDBPyConnection) -> None:
    assert scalar(db, "SELECT count(*) FROM resident") == RESIDENTS
    assert (
        scalar(
            db, "SELECT count(*) FROM resident WHERE NOT regexp_full_match(patient_id, 'P[0-9]{8}')"
        )
        == 0
    )
    for name in (*PATIENT_FACTS, "public_health_service"):
        strangers = scalar(
            db,
            f"SELECT count(*) FROM {name} x ANTI JOIN resident r USING (patient_id)",
        )
        assert strangers == 0, name


def test_encounters_agree_with_the_register_and_the_referrals(
    db: duckdb.DuckDBPyConnection,
) -> None:
    # home division is the patient's, the insurance pool is their county
    assert (
        scalar(
            db,
            """SELECT count(*) FROM encounter e JOIN resident r USING (patient_id)
        WHERE e.home_division_code <> r.home_division_code
           OR e.insured_division_code <> split_part(r.home_division_code, '-', 1)""",
        )
        == 0
    )
    # every referral_id on an encounter is a completed referral of the same patient, answered
    # at its receiving institution
    assert scalar(db, "SELECT count(*) FROM encounter WHERE referral_id IS NOT NULL") > 0
    assert (
        scalar(
            db,
            """SELECT count(*) FROM encounter e LEFT JOIN referral r USING (referral_id)
        WHERE e.referral_id IS NOT NULL AND (r.referral_id IS NULL OR r.state <> 'completed'
           OR r.patient_id <> e.patient_id OR r.to_institution_code <> e.institution_code
           OR e.date < r.date)""",
        )
        == 0
    )
    # up-referrals leave a primary institution for the lead, down-referrals the other way
    assert (
        scalar(
            db,
            """SELECT count(*) FROM referral r JOIN resident p USING (patient_id)
        WHERE (direction = 'up' AND from_institution_code <> p.registered_institution_code)
           OR (direction = 'down' AND to_institution_code <> p.registered_institution_code)""",
        )
        == 0
    )
    assert (
        scalar(
            db, "SELECT count(*) FROM referral WHERE direction = 'up' AND closed_loop IS NOT NULL"
        )
        == 0
    )
    # contracts, chronic care and public health at the resident's registered institution
    for name in ("contract", "chronic_patient", "chronic_follow_up", "public_health_service"):
        assert (
            scalar(
                db,
                f"""SELECT count(*) FROM {name} x JOIN resident r USING (patient_id)
            WHERE x.institution_code <> r.registered_institution_code""",
            )
            == 0
        ), name
    # managed patients carry the tag of their condition in the register
    assert (
        scalar(
            db,
            """SELECT count(*) FROM chronic_patient c JOIN resident r USING (patient_id)
        WHERE NOT contains(coalesce(r.key_populations, ''), c.condition)""",
        )
        == 0
    )
    # a contract runs a year: it ends the day before the anniversary (1 March for 29 February)
    assert (
        scalar(
            db,
            """SELECT count(*) FROM contract WHERE ends_on <> CASE
        WHEN strftime(starts_on, '%m-%d') = '02-29' THEN make_date(year(starts_on) + 1, 2, 28)
        ELSE starts_on + INTERVAL 1 YEAR - INTERVAL 1 DAY END""",
        )
        == 0
    )


def test_admissions_and_discharges_pair_up(
    db: duckdb.DuckDBPyConnection, rates: synth_rates.Rates
) -> None:
    stay = rates.inpatient.length_of_stay_days
    pairs = db.execute(
        """
        WITH a AS (SELECT institution_code, patient_id, diagnosis_code, date, row_number() OVER
                     (PARTITION BY institution_code, patient_id, diagnosis_code ORDER BY date) k
                   FROM encounter WHERE kind = 'admission'),
             d AS (SELECT institution_code, patient_id, diagnosis_code, date, drg_weight,
                     total_cost_cny, row_number() OVER
                     (PARTITION BY institution_code, patient_id, diagnosis_code ORDER BY date) k
                   FROM encounter WHERE kind = 'discharge')
        SELECT count(*) FILTER (WHERE a.k IS NULL OR d.k IS NULL),
               count(*) FILTER (WHERE d.date - a.date > ?
                                   OR (d.date - a.date < ? AND d.date <> ?)),
               count(*) FILTER (WHERE d.drg_weight IS NULL OR d.total_cost_cny <= 0),
               count(*)
        FROM a FULL JOIN d USING (institution_code, patient_id, diagnosis_code, k)
    """,
        [stay.high, stay.low, LAST],
    ).fetchone()
    assert pairs is not None
    unpaired, bad_stay, unbilled, stays = pairs
    assert (unpaired, bad_stay, unbilled) == (0, 0, 0)
    assert stays > 0
    assert (
        scalar(
            db,
            """SELECT count(*) FROM encounter WHERE kind <> 'discharge'
            AND (drg_weight IS NOT NULL OR surgery_level IS NOT NULL)""",
        )
        == 0
    )


def test_population_and_activity_follow_the_rates(
    db: duckdb.DuckDBPyConnection, rates: synth_rates.Rates
) -> None:
    age = "(date_diff('year', birth_date, as_of))"  # birthdays all fall on or before 31 Dec
    bands = rates.population.age_structure.bands
    for low, high in ((0, 14), (65, 200)):
        expected = sum(b.share for b in bands if b.ages[0] >= low and b.ages[1] <= high)
        got = scalar(db, f"SELECT avg(({age} BETWEEN {low} AND {high})::int) FROM resident")
        assert got == pytest.approx(expected, abs=0.03), (low, high)
    ratio = rates.population.sex_ratio.value
    male = scalar(db, "SELECT avg((sex = 'male')::int) FROM resident")
    assert male == pytest.approx(ratio / (ratio + 100), abs=0.03)

    kp = rates.key_populations
    adult = int(kp.adult_age.value)
    for tag, prevalence in (
        ("hypertension", kp.hypertension_prevalence.value),
        ("diabetes", kp.diabetes_prevalence.value),
    ):
        got = scalar(
            db,
            f"""SELECT avg(contains(coalesce(key_populations, ''), '{tag}')::int)
            FROM resident WHERE {age} >= {adult}""",
        )
        assert got == pytest.approx(prevalence, abs=0.035), tag
    elderly = scalar(
        db,
        f"""SELECT bool_and(contains(coalesce(key_populations, ''), 'elderly')
        = ({age} >= 65)) FROM resident""",
    )
    assert elderly == 1

    signed = scalar(
        db,
        """SELECT count(DISTINCT patient_id) / (SELECT count(*) FROM resident)
        FROM contract""",
    )
    assert signed == pytest.approx(rates.contract.share_of_residents.value, abs=0.035)
    key_signed, other_signed = db.execute("""
        SELECT avg((c.patient_id IS NOT NULL)::int) FILTER (WHERE key_populations IS NOT NULL),
               avg((c.patient_id IS NOT NULL)::int) FILTER (WHERE key_populations IS NULL)
        FROM resident r LEFT JOIN contract c USING (patient_id)""").fetchone() or (0, 0)
    assert key_signed == pytest.approx(rates.contract.share_of_key_populations.value, abs=0.05)
    assert key_signed > other_signed + 0.2

    primary = [i.code for i in load_layout("jinhua").institutions if i.level is Level.PRIMARY]
    db.execute("CREATE OR REPLACE TEMP TABLE primary_code AS SELECT unnest(?) code", [primary])
    share = scalar(
        db,
        """SELECT avg((institution_code IN (SELECT code FROM primary_code))::int)
        FROM encounter WHERE kind IN ('outpatient', 'emergency')""",
    )
    assert share == pytest.approx(rates.encounter.primary_share.value, abs=0.03)
    visits = scalar(
        db,
        f"SELECT count(*) / {RESIDENTS} FROM encounter WHERE kind IN ('outpatient', 'emergency')",
    )
    assert visits == pytest.approx(rates.encounter.visits_per_person.value, rel=0.06)
    admissions = scalar(
        db, f"SELECT count(*) / {RESIDENTS} FROM encounter WHERE kind = 'admission'"
    )
    assert admissions == pytest.approx(rates.inpatient.admissions_per_person.value, rel=0.15)
    # visits at an institution of another county (city-level institutions are in no county)
    codes, counties = _counties()
    db.execute(
        "CREATE OR REPLACE TEMP TABLE county_of AS SELECT unnest(?) code, unnest(?) county",
        [codes, counties],
    )
    in_county = scalar(
        db,
        """SELECT avg((i.code IS NULL)::int) FROM encounter e
        LEFT JOIN county_of i ON i.code = e.institution_code
            AND i.county <> e.insured_division_code
        WHERE kind IN ('outpatient', 'emergency')""",
    )
    assert in_county == pytest.approx(rates.encounter.in_county_share.value, abs=0.04)
    reserved = scalar(
        db,
        """SELECT sum(reserved) / sum(total) FROM capacity
        WHERE resource = 'slot'""",
    )
    span = rates.capacity.slot_reserved_share
    assert span.low <= reserved <= span.high


def _counties() -> tuple[list[str], list[str]]:
    """Institutions in a county (not the city's) and their county."""
    layout = load_layout("jinhua")
    parents = {d.code: d.parent for d in layout.divisions}
    counties = {d.code for d in layout.divisions if d.level.value == "county"}
    pairs: list[tuple[str, str]] = []
    for i in layout.institutions:
        here: str | None = i.division
        while here is not None and here not in counties:
            here = parents.get(here)
        if here is not None:
            pairs.append((i.code, here))
    return [c for c, _ in pairs], [c for _, c in pairs]


def test_a_bad_rates_file_is_refused_naming_the_key(tmp_path: Path) -> None:
    data = yaml.safe_load(synth_rates.default_path().read_text(encoding="utf-8"))
    data["encounter"]["primary_share"]["value"] = 1.4
    del data["contract"]["share_of_key_populations"]
    data["inpatient"]["diagnoses"]["codes"][0]["code"] = "Q99.99"
    data["population"]["age_structure"]["bands"][0]["share"] = 0.5
    bad = tmp_path / "rates.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        synth_rates.load(bad)
    fields = {p.field for p in refused.value.problems}
    assert "encounter.primary_share.value" in fields
    assert "contract.share_of_key_populations" in fields
    assert "inpatient.diagnoses.codes[0].code" in fields
    assert "population.age_structure" in fields
    assert all(p.file == str(bad) and p.line for p in refused.value.problems)


def test_the_shipped_rates_cite_a_source_for_every_number(rates: synth_rates.Rates) -> None:
    text = synth_rates.default_path().read_text(encoding="utf-8")
    assert text.count("source:") >= 60
    assert rates.encounter.primary_share.source.startswith("公报2022")


def test_the_cli_writes_the_files_and_refuses_bad_options(tmp_path: Path) -> None:
    from caregrid.cli.main import app

    runner = CliRunner()
    out = tmp_path / "facts"
    args = ["synth", "--residents", "300", "--year", "2023", "--seed", "4", "--out", str(out)]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "events/s" in done.output and "encounter" in done.output
    assert files(out, "encounter") and files(out, "resident")
    assert {p.parent.name for p in files(out, "capacity")} == {
        f"month=2023-{m:02d}" for m in range(1, 13)
    }

    for option, value in (("--residents", "0"), ("--year", "1800"), ("--layout", "atlantis")):
        bad = {"--residents": "300", "--year": "2023", "--layout": "jinhua", option: value}
        refused = runner.invoke(app, ["synth", "--out", str(tmp_path / "no"), *_flat(bad)])
        assert refused.exit_code != 0, option
        assert option in refused.output, refused.output
    assert not (tmp_path / "no").exists() or not any((tmp_path / "no").rglob("*.parquet"))


def _flat(options: dict[str, str]) -> list[str]:
    return [part for pair in options.items() for part in pair]
