"""`caregrid pharmacy`: the starter set and a network's own file into its catalogue, a bad
file refused naming its row and column with nothing written, and a member's list."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import database, run
from tests.pharmacy.conftest import NETWORK, UNIT

__all__ = ["database"]  # the CLI test's own database, a fixture

LAYOUT = Path(__file__).resolve().parents[2] / "src/caregrid/data/layouts/jinhua.yaml"


def test_the_cli_imports_the_starter_set_a_file_and_a_members_list(
    database: str, tmp_path: Path
) -> None:
    assert run(database, "db", "upgrade").returncode == 0
    assert run(database, "registry", "import", str(LAYOUT)).returncode == 0
    done = run(database, "pharmacy", "catalogue-import", NETWORK, "--starter")
    assert done.returncode == 0, done.stderr
    assert f"{NETWORK}: 17 catalogue lines from starter-catalogue.csv" in done.stdout
    bad = tmp_path / "ours.csv"
    bad.write_text("code,kind,name_zh,source\nN1,drug,某药,ours\nN2,tablet,某药,ours\n", "utf-8")
    refused = run(database, "pharmacy", "catalogue-import", NETWORK, str(bad))
    assert refused.returncode != 0
    assert "ours.csv:3: kind" in refused.stderr and "nothing was written" in refused.stderr
    both = run(database, "pharmacy", "catalogue-import", NETWORK, str(bad), "--starter")
    assert both.returncode != 0
    listed = tmp_path / "unit.csv"
    listed.write_text("code,name_zh\nEML18-METFORMIN-T05,盐酸二甲双胍片\n", "utf-8")
    done = run(database, "pharmacy", "listing-import", UNIT, str(listed))
    assert done.returncode == 0, done.stderr
    assert f"{UNIT}: 1 listed lines from unit.csv" in done.stdout
