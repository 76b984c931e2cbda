"""Every message a page can show has its zh-CN translation, with the same placeholders."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path
from typing import get_args

from caregrid import errors
from caregrid.chronic.standard import MEASURE_NAMES, Condition
from caregrid.chronic.vocab import EnrolmentStatus
from caregrid.diagnostics.vocab import CentreKind, ConsultState, OrderState, SupplyState
from caregrid.familydoctor.vocab import ContractStatus
from caregrid.finance import exports as settlement_sheet
from caregrid.i18n import WORDS, dump, field_label, listing, load, msg, vocabulary, word_id
from caregrid.indicators import exports, targets
from caregrid.pharmacy.vocab import (
    ItemKind,
    PrescriptionAction,
    PrescriptionState,
    ProcurementOrderAction,
    ProcurementOrderState,
    Record,
    RegimenOutcome,
    RequisitionAction,
    RequisitionState,
    TransferAction,
    TransferState,
)
from caregrid.planning.vocab import PlanState
from caregrid.policy.schema import CatalogKind
from caregrid.referral.vocab import Action, State
from caregrid.registry import checks
from caregrid.registry.vocab import TitleLevel
from caregrid.scheduling.vocab import BookingStatus, StayStatus
from caregrid.web.i18n import VOCAB_EN, catalog, vocab_label

SRC = Path(checks.__file__).resolve().parents[1]


def _template_messages() -> set[str]:
    text = "".join(
        p.read_text(encoding="utf-8") for p in (SRC / "web" / "templates").rglob("*.html")
    )
    return set(re.findall(r'_\("([^"]*)"\)', text))


def _code_messages() -> set[str]:
    """Message ids the Python code hands to a translator: `gettext("...")` calls, and the
    Excel export's headers."""
    text = "".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py"))
    books = {label for label, _ in settlement_sheet.FIGURES}
    books |= {*settlement_sheet.LINE_HEADER, *settlement_sheet.WAIVER_HEADER}
    books |= set(settlement_sheet.ADJUSTMENT_HEADER)
    return set(re.findall(r'gettext\("([^"]*)"\)', text)) | set(exports.HEADER) | books


# Vocabularies whose codes services pass into messages (rendered by `i18n.word_id`).
VOCABULARIES = (
    OrderState, SupplyState, ConsultState, ContractStatus, EnrolmentStatus, StayStatus,
    BookingStatus, PlanState, TransferState, TransferAction, ItemKind, RequisitionState,
    RequisitionAction, ProcurementOrderState, ProcurementOrderAction, Record, PrescriptionState,
    PrescriptionAction, RegimenOutcome, TitleLevel,
)  # fmt: skip

ERRORS = {
    "DomainError", "NotFound", "Conflict", "Forbidden", "UnsupportedMediaType", "Unavailable",
    "Unauthenticated", "TooManyAttempts", "RuleViolation", "Icd10Error", "PreconditionFailed",
    "MethodNotAllowed",
}  # fmt: skip
CLI_ONLY = ("cli", "synth")  # their refusals reach a terminal, in English (not their purposes)


def _text(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _service_messages() -> tuple[set[str], set[str]]:
    """What services raise and return for pages to show: error details, problems' reasons,
    `msg(...)` templates and the purposes the audit viewer lists; and the labels of the fields
    problems name."""
    messages: set[str] = set()
    labels: set[str] = set()
    for path in SRC.rglob("*.py"):
        cli = path.relative_to(SRC).parts[0] in CLI_ONLY
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PURPOSE":
                messages |= {text for text in [_text(node.value)] if text}
            if not isinstance(node, ast.Call):
                continue
            purposes = [k.value for k in node.keywords if k.arg == "purpose"]
            messages |= {text for text in map(_text, purposes) if text}
            if cli or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in ERRORS or name in ("msg", "Message"):
                found = _text(node.args[0])
                messages |= {found} if found else set()
            elif name in ("Problem", "Fault") and len(node.args) >= 2:
                field, reason = _text(node.args[0]), _text(node.args[1])
                messages |= {reason} if reason else set()
                labels |= {field_label(field)} if field else set()
    return messages, labels


def test_every_service_message_and_field_label_is_translated() -> None:
    """A refusal reaches the page in the reader's language: its message and the field it names."""
    zh = catalog("zh_CN")
    messages, labels = _service_messages()
    words = {*Condition, *CentreKind, *State, *Action, *get_args(CatalogKind)}
    words |= {word_id(v) for e in VOCABULARIES for v in e}
    words |= set(get_args(targets.State))  # a tile's state, inside an evaluation's reason
    words |= set(MEASURE_NAMES.values())
    wanted = messages | labels | words | set(errors.PYDANTIC.values()) | {"is not accepted"}
    assert len(messages) > 200 and "Diagnosis code" in labels
    assert sorted(wanted - set(zh)) == []
    for template in messages:  # a check names its rule in each language (label_en, label_zh)
        english = _fields(template) - {"label_en"}
        chinese = _fields(zh[template]) - {"label_zh"}
        assert english == chinese, template


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_page_message_is_translated() -> None:
    zh = catalog("zh_CN")
    wanted = _template_messages() | set(VOCAB_EN.values()) | _code_messages()
    assert {"Data", "Unit code"} <= _code_messages()
    assert sorted(wanted - set(zh)) == []


def test_a_check_renders_in_chinese() -> None:
    zh = catalog("zh_CN")
    message = msg("{count} designated (needs at least {needed})", count=2, needed=3)
    assert message.render() == "2 designated (needs at least 3)"
    assert message.render(lambda s: zh.get(s, s)) == "已确定 2 家（至少需要 3 家）"


def test_a_vocabulary_word_inside_a_refusal_is_translated() -> None:
    zh = catalog("zh_CN")
    message = msg("a {kind} centre offers at least one item", kind=CentreKind.LABORATORY)
    assert message.render() == "a laboratory centre offers at least one item"
    assert message.render(lambda s: zh.get(s, s)) == "检验中心至少提供一个项目"


def test_a_conflict_names_states_and_actions_in_the_readers_language() -> None:
    zh = catalog("zh_CN")
    message = msg(
        "referral {id} is {state}; '{action}' is allowed only from {sources}",
        id=7,
        state=State.ACCEPTED,
        action=Action.ACCEPT,
        sources=listing([State.SUBMITTED]),
    )
    assert message.render() == "referral 7 is accepted; 'accept' is allowed only from submitted"
    assert (
        message.render(lambda s: zh.get(s, s)) == "转诊 7 为已接收状态；“接收”只能从已提交状态执行"
    )


def test_a_code_two_vocabularies_share_has_one_translation_per_meaning() -> None:
    """A teleconsultation that is closed has ended; a referral that is closed has closed its
    loop: two catalogue ids, in a message and on a page, so each has one translation."""
    zh = catalog("zh_CN")
    ended = msg("teleconsultation {id} is {state}", id=3, state=ConsultState.CLOSED)
    assert ended.render() == "teleconsultation 3 is concluded"
    assert ended.render(lambda s: zh.get(s, s)) == "远程会诊 3 为已结束状态"
    assert zh[word_id(State.CLOSED)] == "已闭环" and zh[word_id(ConsultState.CLOSED)] == "已结束"
    assert zh[vocab_label("closed")] == "已闭环"
    assert zh[vocab_label("closed", "consult_state")] == "已结束"
    assert vocabulary(ConsultState) == "consult_state"
    codes = {f"{vocabulary(e)}.{v.value}" for e in (*VOCABULARIES, State) for v in e}
    assert set(WORDS) <= codes


def test_a_stored_reason_is_shown_later_in_the_readers_language() -> None:
    zh = catalog("zh_CN")
    why = msg("no {kinds} centre", kinds=listing([CentreKind.ECG, CentreKind.PATHOLOGY]))
    kept = load(dump(why))
    assert str(kept) == "no ecg, pathology centre"
    assert kept.render(lambda s: zh.get(s, s)) == "缺少心电, 病理中心"
    assert str(load("written before messages were kept")) == "written before messages were kept"
