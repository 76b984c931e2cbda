"""Names of the governance domain's records (no rules, no policy numbers): the management
committee's seats, the group's founding documents, its meetings and its reports (L1, L2)."""

from __future__ import annotations

from enum import StrEnum

KEY_TASKS_FORMAT = "caregrid-key-tasks/1"  # a key-task list shipped as data (L1)


class CommitteeRole(StrEnum):
    """A seat on the management committee (管委会) or the group's council (理事会)."""

    CHAIR = "chair"
    VICE_CHAIR = "vice_chair"
    MEMBER = "member"
    OFFICE_DIRECTOR = "office_director"


class DocumentKind(StrEnum):
    """What the group adopts and files with the commission (L1): its charter, its rules of
    deliberation and decision, its development plan, its annual work plan and agreement."""

    CHARTER = "charter"
    DECISION_RULES = "decision_rules"
    DEVELOPMENT_PLAN = "development_plan"
    ANNUAL_PLAN = "annual_plan"
    WORK_AGREEMENT = "work_agreement"


class MeetingKind(StrEnum):
    """The office's monthly work meeting (工作例会, L2), a committee meeting, or a
    consultation called when a party asks (会商)."""

    WORK = "work"
    COMMITTEE = "committee"
    CONSULTATION = "consultation"


class ReportKind(StrEnum):
    """What the group reports to the health commission (L2): its monthly work news, its
    annual progress, an emergency."""

    WORK_UPDATE = "work_update"
    ANNUAL_PROGRESS = "annual_progress"
    EMERGENCY = "emergency"


class TaskState(StrEnum):
    """A key task: open, done (on time or late), or past its deadline and not done."""

    OPEN = "open"
    DONE = "done"
    DONE_LATE = "done_late"
    OVERDUE = "overdue"
