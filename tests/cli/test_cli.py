"""The `caregrid` command as a user runs it: a subprocess on its own fresh database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tests.factories import institution, layout, write_layout
from tests.test_yamlio import BOMB


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of its own: a SQLite file, or a scratch PostgreSQL database in the PG run."""
    base = os.environ.get("CAREGRID_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('cli') / 'cli.db'}"
        return
    name = f"caregrid_cli_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def run(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    head_file = (
        Path(os.environ["CAREGRID_DATA_DIR"])
        / f"audit-head-{uuid.uuid5(uuid.NAMESPACE_URL, database)}.json"
    )
    env = {
        **os.environ,
        "CAREGRID_DATABASE_URL": database,
        "CAREGRID_AUDIT_HEAD_FILE": str(head_file),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "caregrid.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def demo(database: str) -> subprocess.CompletedProcess[str]:
    result = run(database, "demo", "--no-serve")
    assert result.returncode == 0, result.stderr
    return result


def test_demo_prints_one_account_per_role(demo: subprocess.CompletedProcess[str]) -> None:
    for role in (
        "regulator",
        "network_admin",
        "institution_admin",
        "clinician",
        "family_doctor",
        "auditor",
    ):
        assert role in demo.stdout


def test_registry_check_json_covers_every_network(
    database: str, demo: subprocess.CompletedProcess[str]
) -> None:
    result = run(database, "registry", "check", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and {"network", "requirement", "status", "detail"} <= set(rows[0])
    by_network: dict[str, set[str]] = {}
    for row in rows:
        by_network.setdefault(row["network"], set()).add(row["requirement"])
        assert row["status"] in {"pass", "fail", "not-evaluable", "not-applicable"}
    assert all({"A1", "A2", "A3", "A4"} <= reqs for reqs in by_network.values())
    assert sum(1 for n in by_network if n.startswith("jh-")) == 3


def test_registry_check_one_network_and_unknown_network(
    database: str, demo: subprocess.CompletedProcess[str]
) -> None:
    rows = json.loads(run(database, "registry", "check", "--format", "json").stdout)
    first = rows[0]["network"]
    one = json.loads(
        run(database, "registry", "check", "--network", first, "--format", "json").stdout
    )
    assert {r["network"] for r in one} == {first}
    missing = run(database, "registry", "check", "--network", "nowhere")
    assert missing.returncode == 2 and "no network with code 'nowhere'" in missing.stderr


def test_policy_show_resolves_a_phase(database: str) -> None:
    before = json.loads(
        run(database, "policy", "show", "sichuan", "--at", "2024-12-30", "--format", "json").stdout
    )
    after = json.loads(
        run(database, "policy", "show", "sichuan", "--at", "2024-12-31", "--format", "json").stdout
    )
    key = "reserved_outpatient_slot_share"
    assert before["parameters"][key]["value"] is None
    assert after["parameters"][key]["value"] == pytest.approx(0.20)
    assert after["parameters"][key]["requirement"] == "C2"
    assert after["parameters"][key]["next"]["value"] == pytest.approx(0.35)
    bad = run(database, "policy", "show", "sichuan", "--at", "31/12/2024")
    assert bad.returncode == 2 and "--at" in bad.stderr


def test_bad_layout_exits_non_zero_and_imports_nothing(
    database: str, tmp_path: Path, demo: subprocess.CompletedProcess[str]
) -> None:
    data = layout()
    institution(data, "t-lead-a")["level"] = "secondary"  # a lead that is not tertiary
    institution(data, "t-chc-b")["category"] = "sauna"  # an unknown category
    path = write_layout(tmp_path, data)
    result = run(database, "registry", "import", str(path))
    assert result.returncode == 2
    assert "nothing was written" in result.stderr
    assert f"{path}:" in result.stderr and "institutions[4].category" in result.stderr
    fixed = institution(data, "t-chc-b")
    fixed["category"] = "township_health_center"
    result = run(database, "registry", "import", str(write_layout(tmp_path, data)))
    assert result.returncode == 2 and "requires tertiary (A2)" in result.stderr
    assert run(database, "registry", "export", "--city", "testcity").returncode == 2


def test_an_alias_bomb_is_refused_at_once(database: str, tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB, encoding="utf-8")
    for args in (("policy", "validate", str(path)), ("registry", "import", str(path))):
        result = run(database, *args)
        assert result.returncode == 2, result.stderr
        assert "anchors and aliases are not accepted" in result.stderr


def test_import_export_round_trip_through_files(
    database: str, tmp_path: Path, demo: subprocess.CompletedProcess[str]
) -> None:
    path = write_layout(tmp_path, layout())
    assert run(database, "registry", "import", str(path)).returncode == 0
    exported = tmp_path / "out.yaml"
    assert (
        run(database, "registry", "export", "--city", "testcity", "-o", str(exported)).returncode
        == 0
    )
    assert run(database, "registry", "import", str(exported)).returncode == 0
    again = run(database, "registry", "export", "--city", "testcity").stdout
    assert again == exported.read_text(encoding="utf-8")


def test_audit_seal_prove_and_verify_name_the_altered_row(
    database: str, demo: subprocess.CompletedProcess[str], tmp_path: Path
) -> None:
    run(database, "user", "create", "audit-late", "--role", "regulator")
    waiting = run(database, "audit", "verify")
    assert waiting.returncode == 0 and "waiting for the sealer" in waiting.stdout
    assert "0 waiting" not in waiting.stdout
    assert run(database, "audit", "seal").returncode == 0
    anchor = tmp_path / "head.json"
    anchor.write_text(run(database, "audit", "head").stdout, encoding="utf-8")
    ok = run(database, "audit", "verify", "--head", str(anchor))
    assert ok.returncode == 0 and "0 waiting" in ok.stdout
    proof = run(database, "audit", "prove", "3")
    assert proof.returncode == 0 and "leads to the signed root" in proof.stdout
    engine = create_engine(database)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3"))
    engine.dispose()
    broken = run(database, "audit", "verify")
    assert broken.returncode == 1
    assert "broken at row 3" in broken.stderr


def test_user_revoke_tokens_counts_and_refuses_an_unknown_name(
    database: str, demo: subprocess.CompletedProcess[str]
) -> None:
    assert run(database, "user", "create", "revoke-me", "--role", "regulator").returncode == 0
    for _ in range(2):
        assert run(database, "user", "token", "revoke-me").returncode == 0
    revoked = run(database, "user", "revoke-tokens", "revoke-me")
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked 2 token(s) of revoke-me" in revoked.stdout
    assert "revoked 0 token(s)" in run(database, "user", "revoke-tokens", "revoke-me").stdout
    unknown = run(database, "user", "revoke-tokens", "nobody-here")
    assert unknown.returncode == 2 and "nobody-here" in unknown.stderr


def test_catalog_import_lists_bad_rows_and_keeps_the_old_catalog(
    database: str, tmp_path: Path, demo: subprocess.CompletedProcess[str]
) -> None:
    bad = tmp_path / "keep.csv"
    bad.write_text("entry,name_zh,name_en,basis\nI21,心梗,,ours\nK94,坏码,,ours\n", "utf-8")
    refused = run(database, "catalog", "import", "jh-rmyy-wucheng", "keep_in_city", str(bad))
    assert refused.returncode == 2 and "keep.csv:3: entry" in refused.stderr
    assert (
        "profile jinhua: keep-in-city.csv"
        in run(database, "catalog", "show", "jh-rmyy-wucheng").stdout
    )
    bad.write_text("entry,name_zh,name_en,basis\nI21,心梗,,ours\n", "utf-8")
    done = run(database, "catalog", "import", "jh-rmyy-wucheng", "keep_in_city", str(bad))
    assert done.returncode == 0 and "1 entries" in done.stdout
    assert (
        "network jh-rmyy-wucheng: keep.csv"
        in run(database, "catalog", "show", "jh-rmyy-wucheng").stdout
    )


def test_facts_import_refuses_bad_rows_then_indicators_compute(
    database: str, demo: subprocess.CompletedProcess[str], tmp_path: Path
) -> None:
    header = "resource,institution_code,department_code,date,total,reserved\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        header + "slot,jh-rmyy,card,2025-01-06,300,100\nslot,jh-rmyy,card,2025-02-30,3,x\n"
    )
    refused = run(database, "facts", "import", str(bad), "--fact", "capacity", "--period", "2025")
    assert refused.returncode == 2
    assert "bad.csv row 3 date: not a date (YYYY-MM-DD)" in refused.stderr
    assert "bad.csv row 3 reserved: not a whole number" in refused.stderr
    good = tmp_path / "good.csv"
    good.write_text(
        header + "slot,jh-rmyy,card,2025-01-06,300,100\nslot,jh-rmyy,card,2025-01-07,300,99\n"
    )
    for _ in range(2):  # the second import changes nothing
        stored = run(database, "facts", "import", str(good), "--fact", "capacity")
        assert stored.returncode == 0, stored.stderr
    assert "2 rows, 0 new or changed" in stored.stdout
    facts = tmp_path / "facts"
    assert run(database, "facts", "export", "--out", str(facts)).returncode == 0
    engines = ["duckdb", "spark"] + (["postgres"] if database.startswith("postgresql") else [])
    for engine in engines:
        computed = run(
            database, "indicators", "compute", "--period", "2025-01..2025-03", "--engine", engine,
            "--facts", str(facts), "--network", "jh-rmyy-wucheng", "--format", "json",
        )  # fmt: skip
        assert computed.returncode == 0, computed.stderr
        rows = json.loads(computed.stdout)
        found = sorted((r["indicator"], r["month"], r["numerator"], r["denominator"]) for r in rows)
        # the demo's closed settlements are facts too (tests/finance holds their figures)
        found = [row for row in found if not row[0].startswith("FS")]
        # the reserved slots offered, none booked yet, by anyone or by another member
        assert found == [
            ("UG11", "2025-01", 0, 199),
            ("UG12", "2025-01", 0, 199),
            ("UG4", "2025-01", 199, 600),
        ]
    wrong = run(database, "indicators", "compute", "--period", "2025-1")
    assert wrong.returncode != 0 and "--period" in wrong.stderr


def test_synth_loads_the_store_once_and_the_engines_agree(
    database: str, demo: subprocess.CompletedProcess[str], tmp_path: Path
) -> None:
    import duckdb

    out = tmp_path / "synth"
    args = ("synth", "--residents", "300", "--year", "2023", "--seed", "4", "--out", str(out))
    first = run(database, *args, "--load")
    assert first.returncode == 0, first.stderr
    again = run(database, *args, "--load")  # the same bytes: nothing new
    assert again.returncode == 0 and ", 0 new or changed" in again.stdout, again.stdout
    engine = create_engine(database)
    with engine.connect() as conn:
        for name in ("encounter", "booking", "diagnostic_order", "resident"):
            stored = conn.execute(text(f"SELECT count(*) FROM fact_{name}")).scalar_one()
            written = duckdb.execute(
                f"SELECT count(*) FROM read_parquet('{out}/{name}/*/*.parquet')"
            ).fetchall()[0][0]
            assert stored >= written > 0, name
    engine.dispose()
    if not database.startswith("postgresql"):
        return
    computed = {}
    for name in ("duckdb", "postgres"):
        result = run(
            database, "indicators", "compute", "--period", "2023", "--engine", name,
            "--facts", str(out), "--network", "jh-rmyy-wucheng", "--format", "json",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        computed[name] = sorted(  # money sums differ in the last bits with the summing order
            (r["indicator"], r["month"], round(r["numerator"], 6),
             None if r["denominator"] is None else round(r["denominator"], 6))
            for r in json.loads(result.stdout)
        )  # fmt: skip
    assert computed["duckdb"] == computed["postgres"] and len(computed["duckdb"]) > 100


def test_synth_load_without_the_layout_loads_nothing(tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    assert run(empty, "db", "upgrade").returncode == 0  # a schema, but no layout
    result = run(
        empty, "synth", "--residents", "200", "--year", "2023", "--out", str(tmp_path / "s"),
        "--load",
    )  # fmt: skip
    assert result.returncode == 2 and "nothing was loaded" in result.stderr, result.stderr
    assert "institution_code" in result.stderr


def test_plan_commands_on_the_demo(
    database: str, tmp_path: Path, demo: subprocess.CompletedProcess[str]
) -> None:
    """The demo holds Hong Kong with one proposed plan; a planner draws another, writes it as
    a layout file, adopts it; Jinhua's layout lacks what a plan needs and says so."""
    listed = run(database, "plan", "list", "--city", "hong-kong")
    assert listed.returncode == 0 and "proposed" in listed.stdout, listed.stderr
    out = tmp_path / "plan.yaml"
    drawn = run(
        database, "plan", "draw", "--city", "hong-kong", "--grids", "7",
        "--population-max", "1378000", "--max-seconds", "30", "--out", str(out),
    )  # fmt: skip
    assert drawn.returncode == 0, drawn.stderr
    assert "proven optimal" in drawn.stdout and "A1: pass" in drawn.stdout
    assert out.read_text(encoding="utf-8").startswith("format: caregrid-layout/1")
    number = run(database, "plan", "list", "--city", "hong-kong").stdout.split()[0]
    adopted = run(database, "plan", "adopt", number)
    assert adopted.returncode == 0 and "adopted" in adopted.stdout, adopted.stderr
    jinhua = run(database, "plan", "draw", "--city", "jinhua", "--grids", "3")
    assert jinhua.returncode == 2 and "divisions.population" in jinhua.stderr


def test_plan_bench_orlib_reaches_the_optima(database: str) -> None:
    from tests.conftest import SHARED, require_shared

    data = require_shared(SHARED / "data")
    result = run(database, "plan", "bench-orlib", "--data", str(data), "--last", "3")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["pmed_at_optimum"] == figures["pmed_instances"] == 3
