"""Referral vocabulary and the state machine (one table, tested exhaustively)."""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    LATERAL = "lateral"
    OUTWARD = "outward"  # out of the referring network (another grid, or out of the city)


class Urgency(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"


URGENCY_ORDER = [Urgency.EMERGENCY, Urgency.URGENT, Urgency.ROUTINE]


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    SCHEDULED = "scheduled"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    CLOSED = "closed"


class Action(StrEnum):
    SUBMIT = "submit"
    ACCEPT = "accept"
    REJECT = "reject"
    CANCEL = "cancel"
    SCHEDULE = "schedule"
    ARRIVE = "arrive"
    COMPLETE = "complete"
    CLOSE = "close"


# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[State], State]] = {
    Action.SUBMIT: (frozenset({State.DRAFT}), State.SUBMITTED),
    Action.ACCEPT: (frozenset({State.SUBMITTED}), State.ACCEPTED),
    Action.REJECT: (frozenset({State.SUBMITTED}), State.REJECTED),
    Action.CANCEL: (
        frozenset({State.DRAFT, State.SUBMITTED, State.ACCEPTED, State.SCHEDULED}),
        State.CANCELLED,
    ),
    Action.SCHEDULE: (frozenset({State.ACCEPTED}), State.SCHEDULED),
    Action.ARRIVE: (frozenset({State.ACCEPTED, State.SCHEDULED}), State.ARRIVED),
    Action.COMPLETE: (frozenset({State.ARRIVED}), State.COMPLETED),
    Action.CLOSE: (frozenset({State.COMPLETED}), State.CLOSED),
}

FINAL = frozenset({State.REJECTED, State.CANCELLED, State.CLOSED})

# A referral is a care relationship of both its institutions with the patient (DESIGN.md,
# security model) from the moment it is sent, unless it is rejected or cancelled; a closed
# referral still counts.
CARE_STATES = frozenset(State) - {State.DRAFT, State.REJECTED, State.CANCELLED}

# Which side of the referral acts: the sender, the receiver, or either.
SENDER, RECEIVER, EITHER = "sender", "receiver", "either"
ACTOR_SIDE: dict[Action, str] = {
    Action.SUBMIT: SENDER,
    Action.ACCEPT: RECEIVER,
    Action.REJECT: RECEIVER,
    Action.CANCEL: EITHER,
    Action.SCHEDULE: EITHER,
    Action.ARRIVE: RECEIVER,
    Action.COMPLETE: RECEIVER,
    Action.CLOSE: RECEIVER,
}


class RejectionReason(StrEnum):
    """Coded reasons a receiving department refuses a referral (answer `other` with text)."""

    NOT_INDICATED = "not_indicated"  # the referral criteria are not met
    TREAT_AT_SENDER = "treat_at_sender"  # the disease belongs to the sender's tier catalog
    WRONG_DEPARTMENT = "wrong_department"
    NO_CAPACITY = "no_capacity"
    INCOMPLETE_INFORMATION = "incomplete_information"
    PATIENT_DECLINED = "patient_declined"
    OTHER = "other"


class Approval(StrEnum):
    """The network office's approval of an outward referral of a keep-in-city disease (B2)."""

    NOT_NEEDED = "not_needed"
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class DeductibleRule(StrEnum):
    """Which inpatient deductible rule applies to a referred admission (B7)."""

    WAIVED_SECOND = "waived_second_deductible"
    STANDARD = "standard"
    NOT_ADMISSION = "not_admission"
