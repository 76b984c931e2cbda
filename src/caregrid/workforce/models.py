"""Tables of the workforce domain: postings of professionals to members (H1, C6, H4), the
network's first-post draws (H2), with the posts and candidates frozen when the seed was
committed and each candidate's place once revealed, and its training (H5): modules, sessions
with each trainee's attendance and result, teaching plans for members and mentorships, and
village doctors employed by a township centre and paid by the month (H7); key members and
specialty brands (C5); and a county's service periods by region (H3)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime


class Draw(Base):
    __tablename__ = "workforce_draw"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12))
    commitment: Mapped[str] = mapped_column(String(64))  # SHA-256 of the seed, hex
    seed: Mapped[str | None] = mapped_column(String(200))
    digest: Mapped[str | None] = mapped_column(String(64))  # of the published draw
    committed_by: Mapped[str] = mapped_column(String(100))
    committed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revealed_by: Mapped[str | None] = mapped_column(String(100))
    revealed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class DrawPost(Base):
    """A post offered in the draw, its seats and its need (1 is the neediest)."""

    __tablename__ = "workforce_draw_post"
    __table_args__ = (UniqueConstraint("draw_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("workforce_draw.id"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    title: Mapped[str] = mapped_column(String(200))
    seats: Mapped[int] = mapped_column(Integer)
    need: Mapped[int] = mapped_column(Integer)


class DrawCandidate(Base):
    """A new hire in the draw: the exam reference, the score, the posts preferred in order,
    and once revealed the lottery number, rank and post."""

    __tablename__ = "workforce_draw_candidate"
    __table_args__ = (UniqueConstraint("draw_id", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("workforce_draw.id"))
    position: Mapped[int] = mapped_column(Integer)
    ref: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    score: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    preferences: Mapped[list[str]] = mapped_column(JSON)
    lottery: Mapped[str | None] = mapped_column(String(64))
    rank: Mapped[int | None] = mapped_column(Integer)
    post_code: Mapped[str | None] = mapped_column(String(40))
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("workforce_posting.id"))  # taken up


class Post(Base):
    """A post a member sets up with its seats (H1); its vacancies on a day are the seats its
    postings running that day do not fill."""

    __tablename__ = "workforce_post"
    __table_args__ = (
        UniqueConstraint("institution_id", "code"),
        CheckConstraint("seats > 0", name="seats"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    seats: Mapped[int] = mapped_column(Integer)
    opened_on: Mapped[date] = mapped_column(Date)


class Posting(Base):
    """A professional serving at a member from one day to another (open: still there). Two
    postings of one person never overlap (the service refuses it)."""

    __tablename__ = "workforce_posting"
    __table_args__ = (CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ordered"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("workforce_post.id"))  # the seat filled
    purpose: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)  # the last day served
    note: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(String(20))  # an expert sent down: what they do (C5)
    weekdays: Mapped[list[int] | None] = mapped_column(JSON)  # their fixed schedule, ISO weekdays
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ServiceDay(Base):
    """A day an expert sent down served at the member (C5), as the member records it."""

    __tablename__ = "workforce_service_day"
    __table_args__ = (UniqueConstraint("posting_id", "served_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("workforce_posting.id"), index=True)
    served_on: Mapped[date] = mapped_column(Date)


class TrainingModule(Base):
    """A module the group trains with: what kind (H5), its score scale and its pass mark."""

    __tablename__ = "workforce_training_module"
    __table_args__ = (
        UniqueConstraint("network_id", "code"),
        CheckConstraint("pass_score <= max_score", name="pass_within_scale"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    max_score: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    pass_score: Mapped[Decimal] = mapped_column(Numeric(6, 2))


class TrainingSession(Base):
    """A module held on a day at an institution, by a trainer."""

    __tablename__ = "workforce_training_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("workforce_training_module.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    trainer: Mapped[str] = mapped_column(String(100))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TrainingResult(Base):
    """A trainee of a session: attended or not, the score on the module's scale, and whether
    it reached the pass mark (kept as judged when recorded)."""

    __tablename__ = "workforce_training_result"
    __table_args__ = (UniqueConstraint("session_id", "practitioner_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("workforce_training_session.id"))
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), index=True)
    attended: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    passed: Mapped[bool] = mapped_column(Boolean)


class TeachingPlan(Base):
    """A clinical teaching plan the lead tailors to a member (JH 9.3), and when it was
    delivered (open: not yet)."""

    __tablename__ = "workforce_teaching_plan"
    __table_args__ = (
        CheckConstraint("delivered_on IS NULL OR delivered_on >= planned_on", name="ordered"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    planned_on: Mapped[date] = mapped_column(Date)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))


class Mentorship(Base):
    """A member's staff member mentored by a professional of the lead (导师制, JH 9.4), from
    one day to another (open: still mentored). One person has one mentor at a time."""

    __tablename__ = "workforce_mentorship"
    __table_args__ = (CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ordered"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)


class VillageDoctor(Base):
    """A village doctor employed by a primary member (the township centre, 乡聘) and working
    in a village (村用, H7), from one day to another (open: still working there)."""

    __tablename__ = "workforce_village_doctor"
    __table_args__ = (CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ordered"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    village: Mapped[str] = mapped_column(String(100))  # the village (clinic) worked in
    village_code: Mapped[str | None] = mapped_column(String(40))  # its division code, if known
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)


class VillagePay(Base):
    """A month's pay of a village doctor: the amount and the day paid; one per month."""

    __tablename__ = "workforce_village_pay"
    __table_args__ = (
        UniqueConstraint("village_doctor_id", "month"),
        CheckConstraint("amount > 0", name="positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    village_doctor_id: Mapped[int] = mapped_column(ForeignKey("workforce_village_doctor.id"))
    month: Mapped[date] = mapped_column(Date)  # the month's first day
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    paid_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))


class StaffEvaluation(Base):
    """A staff member's internal evaluation (K2, GZ-U 17): ethics, service quality,
    competence and satisfaction scored 0-100, a grade, and what the result was tied to."""

    __tablename__ = "workforce_staff_evaluation"
    __table_args__ = (UniqueConstraint("practitioner_id", "evaluated_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    evaluated_on: Mapped[date] = mapped_column(Date)
    ethics: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    quality: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    competence: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    satisfaction: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    grade: Mapped[str] = mapped_column(String(20))
    uses: Mapped[list[str]] = mapped_column(JSON)
    recorded_by: Mapped[str] = mapped_column(String(100))


class KeyMember(Base):
    """A member the network names for building up (重点帮扶单位, C5, JH 15.1): it receives a
    resident ward director and clinic experts from the lead, from one day to another."""

    __tablename__ = "workforce_key_member"
    __table_args__ = (CheckConstraint("ends_on IS NULL OR ends_on >= named_on", name="ordered"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    named_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)  # the last day; open: still a key member
    named_by: Mapped[str] = mapped_column(String(100))
    named_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SpecialtyBrand(Base):
    """A primary member's specialty recognised as a city-level specialty brand (一院一品,
    C5, JH 15.2), by whom and from when; it may lapse."""

    __tablename__ = "workforce_specialty_brand"
    __table_args__ = (
        UniqueConstraint("institution_id", "specialty"),
        CheckConstraint("ends_on IS NULL OR ends_on >= recognised_on", name="ordered"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    specialty: Mapped[str] = mapped_column(String(100))
    recognised_on: Mapped[date] = mapped_column(Date)
    recognised_by: Mapped[str] = mapped_column(String(100))  # the authority, e.g. the city's
    ends_on: Mapped[date | None] = mapped_column(Date)  # the last day it held; open: holds
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ServicePeriod(Base):
    """The months a county's office asks of a first post in one of its profile's regions
    (H3, GZ-C 二(二): 分别确定各区域服务年限); set anew when the county changes it."""

    __tablename__ = "workforce_service_period"
    __table_args__ = (
        UniqueConstraint("network_id", "region"),
        CheckConstraint("months > 0", name="months"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"))
    region: Mapped[str] = mapped_column(String(40))
    months: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MemberRegion(Base):
    """The region (mountain, plain, ...) the county's office places a member in (H3)."""

    __tablename__ = "workforce_member_region"
    __table_args__ = (UniqueConstraint("network_id", "institution_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    region: Mapped[str] = mapped_column(String(40))
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)
