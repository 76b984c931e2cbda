"""Migration 0009 backfills `care_relationship` from the records themselves, so an upgraded
database keeps the decisions of the former rules (which read registrations, contracts and
referrals at every request). Checked on the test world with referrals in every outcome and
contracts renewed, terminated and starting later, at moments from now past their terms."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Engine, delete, or_, select
from sqlalchemy.orm import Session
from tests.referrals import CHEST_PAIN, refer_up
from tests.world import NOW, World, build, nid

from caregrid import clock
from caregrid.auth import access
from caregrid.auth.models import CareRelationship
from caregrid.db import migrate
from caregrid.db.session import make_engine
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.schemas import ConsentIn, ContractIn
from caregrid.familydoctor.vocab import ConsentMethod, TerminationReason
from caregrid.referral import service as referrals
from caregrid.referral.models import Referral
from caregrid.referral.vocab import Action, RejectionReason, State
from caregrid.registry import service as registry
from caregrid.residents import service as residents
from caregrid.residents.models import Resident
from caregrid.residents.schemas import ResidentIn

TODAY = NOW.date()
MIGRATION = migrate.MIGRATIONS / "versions" / "0009_care_relationship.py"


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("care_relationship_0009", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def former_rule(session: Session, institution_id: int, resident_id: int) -> str | None:
    """access.care_relationship as it was before the table: read from the records."""
    resident = session.get(Resident, resident_id)
    assert resident is not None
    if resident.registered_institution_id == institution_id:
        return "registered_at_institution"
    contract = familydoctor.contract_on(session, resident_id, clock.today())
    if contract is not None:
        team = familydoctor.get_team(session, contract.team_id)
        homes = registry.home_institution_ids(session, [m.practitioner_id for m in team.members])
        if institution_id == team.institution_id or institution_id in homes:
            return "contract"
    live = session.scalar(
        select(Referral.id)
        .where(
            Referral.resident_id == resident_id,
            or_(
                Referral.from_institution_id == institution_id,
                Referral.to_institution_id == institution_id,
            ),
            Referral.state.not_in((State.CANCELLED, State.REJECTED, State.DRAFT)),
        )
        .limit(1)
    )
    return "referral" if live is not None else None


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        yield build(session)


def _story(session: Session, world: World) -> tuple[list[int], list[datetime]]:
    """Referrals in every outcome, contracts renewed, terminated and starting later; the
    residents and the moments worth deciding at."""
    doctor, lead = world.community_doctor, world.cardiologist
    third = residents.create(
        session,
        doctor,
        ResidentIn(
            national_id=nid("19700505", "031"),
            name="王芳",
            address_division_code="330702-chengdong",
            registered_institution_code="jh-wc-chengdong",
        ),
    ).id

    def move(referral: Referral, action: Action, code: RejectionReason | None = None) -> None:
        who = doctor if action in (Action.SUBMIT, Action.CANCEL) else lead
        referrals.transition(
            session, who, referral.id, action=action, version=referral.version, rejection_code=code
        )

    rejected = refer_up(session, world, resident_id=world.patient, **CHEST_PAIN)
    closed = refer_up(session, world, resident_id=world.unsigned_patient, **CHEST_PAIN)
    sent_then_cancelled = refer_up(session, world, resident_id=third, **CHEST_PAIN)
    draft_cancelled = refer_up(session, world, resident_id=third, submit=False, **CHEST_PAIN)
    refer_up(session, world, resident_id=third, submit=False, **CHEST_PAIN)  # still a draft
    accepted = refer_up(session, world, resident_id=third, **CHEST_PAIN)
    with clock.frozen(NOW + timedelta(hours=3)):
        move(rejected, Action.REJECT, RejectionReason.NO_CAPACITY)
        for action in (Action.ACCEPT, Action.ARRIVE, Action.COMPLETE, Action.CLOSE):
            move(closed, action)
        move(sent_then_cancelled, Action.CANCEL)
        move(draft_cancelled, Action.CANCEL)
        move(accepted, Action.ACCEPT)

    current = familydoctor.contract_on(session, world.patient, TODAY)
    assert current is not None
    consent = ConsentIn(method=ConsentMethod.WRITTEN, signatory="本人")
    renewed = familydoctor.renew(session, doctor, current.id, consent=consent)
    later = familydoctor.sign(
        session,
        doctor,
        ContractIn(
            resident_id=world.unsigned_patient,
            team_code=f"chengdong-1{world.tag}",
            doctor_code=world.gp_code,
            packages=["basic"],
            starts_on=TODAY + timedelta(days=7),
            consent=consent,
        ),
    )
    signed = familydoctor.sign(
        session,
        doctor,
        ContractIn(
            resident_id=third,
            team_code=f"chengdong-1{world.tag}",
            doctor_code=world.gp_code,
            packages=["basic"],
            consent=consent,
        ),
    )
    with clock.frozen(NOW + timedelta(days=20)):
        familydoctor.terminate(
            session, doctor, signed.id, reason=TerminationReason.RESIDENT_REQUEST, note=None
        )
    moments = [
        NOW,
        NOW + timedelta(hours=3),
        clock.start_of(later.starts_on),
        NOW + timedelta(days=20),
        clock.start_of(current.ends_on) + timedelta(hours=12),
        clock.start_of(renewed.starts_on),
        clock.start_of(later.ends_on + timedelta(days=1)),
        clock.start_of(renewed.ends_on + timedelta(days=1)),
    ]
    return [world.patient, world.unsigned_patient, third], moments


def _decisions(
    session: Session, institutions: list[int], people: list[int], moments: list[datetime]
) -> dict[tuple[datetime, int, int], tuple[str | None, str | None]]:
    """(the table's decision, the former rule's decision) per moment, institution, resident."""
    found = {}
    for moment in moments:
        with clock.frozen(moment):
            for institution_id in institutions:
                for resident_id in people:
                    found[moment, institution_id, resident_id] = (
                        access.care_relationship(session, institution_id, resident_id),
                        former_rule(session, institution_id, resident_id),
                    )
    return found


def _rows(session: Session) -> list[tuple[object, ...]]:
    return sorted(
        (r.kind, r.source_id, r.resident_id, r.institution_id, r.started_at, r.ended_at)
        for r in session.scalars(select(CareRelationship))
    )


def test_the_backfill_gives_the_former_rules_decisions(session: Session, world: World) -> None:
    with clock.frozen(NOW):
        people, moments = _story(session, world)
    # The team's base and the referrals' sender, the specialist's and the referrals' lead
    # hospital, another grid's hospital and clinic, and a member that is in none of it.
    involved = {
        registry.require_institution(session, code).id
        for code in ("jh-wc-chengdong", "jh-rmyy", "jh-zxyy", "jh-jd-duohu")
    }
    network = registry.get_network(session, "jh-rmyy-wucheng")
    bystander = min(registry.network_member_ids(session, network.id) - involved)
    institutions = sorted(involved | {bystander})
    written = _decisions(session, institutions, people, moments)
    disagreements = {key: pair for key, pair in written.items() if pair[0] != pair[1]}
    assert disagreements == {}
    seen = {pair[0] for pair in written.values()}
    assert seen == {"registered_at_institution", "contract", "referral", None}

    by_services = _rows(session)
    session.execute(delete(CareRelationship))
    assert _rows(session) == []
    _migration().backfill(session.connection())
    session.expire_all()
    assert _rows(session) == by_services
    backfilled = _decisions(session, institutions, people, moments)
    assert backfilled == written


@pytest.fixture
def fresh_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'upgrade.db'}")
    yield engine
    engine.dispose()


def test_the_migration_goes_down_and_up_again(fresh_engine: Engine) -> None:
    from alembic import command

    migrate.upgrade(fresh_engine)
    config = migrate.alembic_config(fresh_engine.url.render_as_string(hide_password=False))
    with fresh_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    with Session(fresh_engine) as session:
        assert "care_relationship" not in fresh_engine.dialect.get_table_names(session.connection())
    migrate.upgrade(fresh_engine)
    with Session(fresh_engine) as session:
        assert session.scalars(select(CareRelationship)).all() == []
