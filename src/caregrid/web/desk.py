"""The home page's desk: each role's worklists, gathered from the services that own them.

Every list here is the owning service's own (the referral inbox, the centre's queue, the
team's worklist, ...), so the desk adds no rule: it picks the lists a principal's roles
work from, shows the first few lines of each and the length of the whole list, and links to
the page where the work is done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import audit
from caregrid.auth.roles import Principal, Role
from caregrid.chronic import service as chronic
from caregrid.diagnostics import service as diagnostics
from caregrid.familydoctor import service as familydoctor
from caregrid.governance import service as governance
from caregrid.indicators import evaluation
from caregrid.referral import service as referrals
from caregrid.referral.vocab import Direction
from caregrid.registry import service as registry
from caregrid.residents import service as residents
from caregrid.workforce import service as workforce

SHOWN = 5  # lines per tray; the tray's link opens the whole list
FOLLOW_UPS = ("follow_up_due", "follow_up_overdue")


@dataclass(frozen=True)
class Line:
    href: str
    text: str  # names and codes, shown as they are
    what: str  # a vocabulary value, shown through the label catalogue
    when: datetime | date | None = None
    urgent: bool = False
    quoted: str = ""  # English source text, marked as such (WHO's ICD-10 title)
    kind: str | None = None  # its vocabulary, where the code means something else elsewhere


@dataclass(frozen=True)
class Tray:
    key: str  # the tray's id on the page; its title and empty text are in the template
    href: str
    total: int
    lines: list[Line]


def _referral_lines(session: Session, rows: list[referrals.Referral]) -> list[Line]:
    now = clock.now()
    return [
        Line(
            href=f"/referrals/{r.id}",
            text=f"{residents.name_of(session, r.resident_id)} · {r.diagnosis_code}",
            quoted=r.diagnosis_title,
            what=r.state,
            when=r.submitted_at,
            urgent=r.green_channel or referrals.overdue(session, r, now),
        )
        for r in rows[:SHOWN]
    ]


def _institution_trays(session: Session, principal: Principal, institution_id: int) -> list[Tray]:
    inbox = referrals.inbox(session, principal)
    arriving = [r for r in inbox if r.direction != Direction.DOWN]
    down = [r for r in inbox if r.direction == Direction.DOWN]
    trays = [
        Tray("referrals-in", "/referrals", len(arriving), _referral_lines(session, arriving)),
        Tray("take-over", "/referrals", len(down), _referral_lines(session, down)),
    ]
    shown = [r.id for r in [*arriving[:SHOWN], *down[:SHOWN]]]
    audit.record_reads(session, principal, "referral", shown, purpose="home page")
    if principal.has(Role.FAMILY_DOCTOR, Role.CLINICIAN):
        trays += _clinical_trays(session, principal, institution_id)
    return trays


def _clinical_trays(session: Session, principal: Principal, institution_id: int) -> list[Tray]:
    due = [
        (team, item)
        for team in familydoctor.teams_of(session, principal)
        for item in chronic.worklist(session, principal, team.id).items
        if item.what in FOLLOW_UPS
    ]
    due.sort(key=lambda pair: (pair[1].what != "follow_up_overdue", pair[1].due_on or date.max))
    may_record = chronic.may_record(principal)
    follow_ups = [
        Line(
            href=(
                f"/chronic/follow-up?resident_id={item.resident_id}&condition={item.condition}"
                if may_record
                else f"/residents/{item.resident_id}"
            ),
            text=item.resident_name,
            what=item.what,
            when=item.due_on,
            urgent=item.what == "follow_up_overdue",
        )
        for _, item in due[:SHOWN]
    ]
    shown = [item.resident_id for _, item in due[:SHOWN]]
    audit.record_reads(session, principal, "resident", shown, purpose="home page")
    teams = {team.id for team, _ in due}
    worklist = f"/teams/{next(iter(teams))}/worklist" if len(teams) == 1 else "/teams"
    orders = [
        order
        for centre in diagnostics.centres_run_by(session, institution_id)
        for order in diagnostics.queue(session, principal, centre.id)
    ]
    consults = diagnostics.consult_inbox(session, principal)
    return [
        Tray("follow-ups", worklist, len(due), follow_ups),
        Tray(
            "orders",
            "/centres",
            len(orders),
            [
                Line(
                    f"/orders/{o.id}",
                    f"{o.item_code} · #{o.id}",
                    o.state,
                    o.ordered_at,
                    kind="order_state",
                )
                for o in orders[:SHOWN]
            ],
        ),
        Tray(
            "consults",
            "/teleconsultations",
            len(consults),
            [
                Line(
                    "/teleconsultations",
                    f"#{c.id}",
                    c.state,
                    c.scheduled_for or c.requested_at,
                    kind="consult_state",
                )
                for c in consults[:SHOWN]
            ],
        ),
    ]


def _evaluation_tray(session: Session, networks: list[registry.Network]) -> Tray:
    today = clock.today()
    due = [(n, p) for n in networks for p in evaluation.unevaluated(session, n, today)]
    lines = [
        Line(f"/networks/{n.code}/evaluations/{p}", f"{n.code} · {p}", "unevaluated", urgent=True)
        for n, p in due[:SHOWN]
    ]
    return Tray("evaluations", "/networks", len(due), lines)


def _governance_tray(session: Session, network: registry.Network) -> Tray:
    """The office's overdue work: a work meeting past its due day, key tasks past deadline."""
    today = clock.today()
    meeting = governance.cadence(session, network, today)
    tasks = governance.overdue_tasks(session, network, today)
    href = f"/networks/{network.code}/governance"
    lines = (
        [Line(f"{href}#cadence", network.code, "work", meeting.due_by, True, kind="meeting_kind")]
        if meeting.overdue
        else []
    )
    lines += [
        Line(f"{href}#tasks", f"{t.ref} {t.task}", "overdue", t.due_on, True, kind="task_state")
        for t in tasks
    ]
    return Tray("governance", f"{href}#tasks", len(lines), lines[:SHOWN])


def _workforce_tray(session: Session, principal: Principal, network: registry.Network) -> Tray:
    """The office's overdue staff work: village doctors with a month over and unpaid (H7)
    first, money owed to people, then the members due for management training (H5)."""
    base = f"/networks/{network.code}"
    _, due = workforce.training.management_due(session, network, clock.today())
    names = registry.institution_names(session)
    lines = [
        Line(
            f"{base}/village-doctors#doctor-{d.id}",
            f"{d.practitioner_name} · {' '.join(d.unpaid)}",
            "unpaid",
            None,
            True,
            kind="village_pay",
        )
        for d in workforce.village.village_doctors(session, principal, network.code)
        if d.unpaid
    ]
    lines += [
        Line(
            f"{base}/training#management",
            names.get(m.institution_code, m.institution_code),
            "management",
            m.due_by,
            True,
            kind="training_kind",
        )
        for m in due
        if m.overdue
    ]
    return Tray("workforce", f"{base}/training#management", len(lines), lines[:SHOWN])


def trays(session: Session, principal: Principal) -> list[Tray]:
    """The principal's trays, in the order their day takes them."""
    found: list[Tray] = []
    if principal.institution_id is not None:
        found += _institution_trays(session, principal, principal.institution_id)
    if principal.has(Role.NETWORK_ADMIN) and principal.network_id is not None:
        approvals = referrals.pending_approvals(session, principal)
        found.append(
            Tray("approvals", "/referrals", len(approvals), _referral_lines(session, approvals))
        )
        network = registry.get_network_by_id(session, principal.network_id)
        found.append(_evaluation_tray(session, [network]))
        found.append(_governance_tray(session, network))
        found.append(_workforce_tray(session, principal, network))
    if principal.has(Role.REGULATOR):
        found.append(_evaluation_tray(session, registry.networks(session)))
    return found
