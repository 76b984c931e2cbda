"""Two clients sign one resident at the same moment, on SQLite and PostgreSQL: exactly one
contract is made and the other client gets 409, never a driver error."""

from __future__ import annotations

from sqlalchemy import func, select

from caregrid import clock
from caregrid.db.session import session_scope
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.models import Contract
from caregrid.familydoctor.schemas import ConsentIn, ContractIn
from caregrid.familydoctor.vocab import ConsentMethod
from tests.races import UTC_NOW, assert_all_conflicts, assert_audit_chain_intact, race, winners
from tests.world import World


def test_one_resident_signed_twice_at_once_gets_one_contract(committed_world: World) -> None:
    world = committed_world
    data = ContractIn(
        resident_id=world.unsigned_patient,
        team_code=f"chengdong-1{world.tag}",
        doctor_code=world.gp_code,
        packages=["basic"],
        consent=ConsentIn(method=ConsentMethod.WRITTEN, signatory="李秀兰"),
    )

    def attempt() -> int:
        with clock.frozen(UTC_NOW), session_scope() as session:
            return familydoctor.sign(session, world.community_doctor, data).id

    results = race([attempt] * 6)

    assert len(winners(results)) == 1, results
    assert_all_conflicts(results, 5)
    with session_scope() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Contract)
            .where(Contract.resident_id == world.unsigned_patient)
        )
    assert count == 1
    assert_audit_chain_intact()
