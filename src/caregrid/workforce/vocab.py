"""Names of the workforce domain's states and formats (no rules, no policy numbers)."""

from __future__ import annotations

from enum import StrEnum

DRAW_FORMAT = "caregrid-draw/1"  # the published draw's format and its algorithm's version


class DrawState(StrEnum):
    """A first-post draw (H2): its seed committed (the hash published, posts and candidates
    frozen), then revealed (the seed shown and the result computed from it)."""

    COMMITTED = "committed"
    REVEALED = "revealed"


class PostingPurpose(StrEnum):
    """Why a professional serves at a member for a time (H1, C6): a new hire's first post,
    a deployment to where the group needs staff, a lead's expert sunk to a primary member,
    training at the lead, or a manager the lead sends to run a member."""

    FIRST_POST = "first_post"
    DEPLOYMENT = "deployment"
    SINKING = "sinking"
    TRAINING = "training"
    MANAGEMENT = "management"


class PostCategory(StrEnum):
    """What kind of post a member sets up (H1: posts set across the group)."""

    DOCTOR = "doctor"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    TECHNICIAN = "technician"
    PUBLIC_HEALTH = "public_health"
    MANAGER = "manager"


class TrainingKind(StrEnum):
    """What a training module is for (H5): the modular training members' staff take and pass
    (JH 9.2), the management training of member heads and managers (JH 9.1), the lead's
    standardised training of backbone staff (SC 6), or other clinical training."""

    MODULAR = "modular"
    MANAGEMENT = "management"
    BACKBONE = "backbone"
    CLINICAL = "clinical"


class SinkingRole(StrEnum):
    """What an expert sent down does at the member (C5, JH 15.1): runs a ward on a fixed
    schedule (常驻科主任), or holds clinics there (坐诊)."""

    WARD_DIRECTOR = "ward_director"
    CLINIC = "clinic"


class EvaluationGrade(StrEnum):
    """The grade of a staff member's internal evaluation (K2, GZ-U 17)."""

    EXCELLENT = "excellent"
    COMPETENT = "competent"
    BASIC = "basic"
    UNSATISFACTORY = "unsatisfactory"


class EvaluationUse(StrEnum):
    """What an internal evaluation's result was tied to (K2, GZ-U 17: 与医务人员岗位聘用、职称评
    聘、薪酬待遇等挂钩)."""

    POST = "post"
    TITLE = "title"
    PAY = "pay"
