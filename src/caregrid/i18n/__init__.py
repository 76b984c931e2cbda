"""Message catalogues (zh_CN.po), the messages that travel untranslated until a page shows
them, and the number formatting the pages share."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Annotated

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema


@dataclass(frozen=True)
class Message:
    """An English template (also the catalogue's message id) and its parameters. Services raise
    and return these, so the API can answer in English and a page in the reader's language."""

    template: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, translate: Callable[[str], str] = str) -> str:
        """The text in `translate`'s language; a parameter that is itself a message (a reason
        inside a refusal) or a vocabulary code (an enum: "hypertension") is a word of the same
        language too."""
        text = translate(self.template)
        if not self.params:
            return text
        return text.format(**{k: _word(v, translate) for k, v in self.params.items()})

    def __str__(self) -> str:
        return self.render()


def _word(value: object, translate: Callable[[str], str]) -> object:
    if isinstance(value, Message):
        return value.render(translate)
    if isinstance(value, Enum):
        return translate(word_id(value))
    return value


# A code that two vocabularies share with different meanings gets a word of its own in one of
# them, so that each catalogue id has one translation: a referral that is "closed" has closed
# its loop (已闭环), a teleconsultation has only ended (已结束). Keyed like the kinds of the
# pages' labels (`web.i18n.vocab_label`): the vocabulary, then the code.
WORDS: dict[str, str] = {
    "consult_state.closed": "concluded",
    "requisition_state.ordered": "taken into an order",
}


def vocabulary(kind: type[Enum]) -> str:
    """A vocabulary's key: its enum's name in snake case (`ConsultState` -> "consult_state")."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__).lower()


def word_id(value: Enum) -> str:
    """The catalogue id (and English word) of a vocabulary code inside a message: the code
    itself ("accepted"), or the word its vocabulary gives it in `WORDS`."""
    code = str(value.value)
    return WORDS.get(f"{vocabulary(type(value))}.{code}", code)


def msg(template: str, **params: object) -> Message:
    return Message(template, params)


def listing(values: Iterable[object]) -> Message:
    """Words joined with commas, each rendered in the reader's language ("已提交, 已接收")."""
    words = {f"w{i}": v for i, v in enumerate(values)}
    return Message(", ".join(f"{{{k}}}" for k in words), words)


def dump(message: Message) -> str:
    """A message as JSON text, for a column that keeps a reason to show later in the reader's
    language: parameters that are messages or vocabulary codes stay words to translate."""
    return json.dumps(_plain(message), ensure_ascii=False)


def load(text: str) -> Message:
    """The message `dump` wrote; other text (written before, or by hand) as it is."""
    try:
        found = json.loads(text)
    except ValueError:
        return Message(text)
    if not (isinstance(found, dict) and "template" in found):
        return Message(text)
    return _message(found)


def _plain(value: object) -> object:
    if isinstance(value, Message):
        return {
            "template": value.template,
            "params": {k: _plain(v) for k, v in value.params.items()},
        }
    if isinstance(value, Enum):  # a word: a message of its catalogue id alone
        return {"template": word_id(value)}
    return value if value is None or isinstance(value, (str, int, float)) else str(value)


def _message(found: dict[str, object]) -> Message:
    params = found.get("params")
    restored = {k: _restored(v) for k, v in params.items()} if isinstance(params, dict) else {}
    return Message(str(found["template"]), restored)


def _restored(value: object) -> object:
    return _message(value) if isinstance(value, dict) and "template" in value else value


def _as_message(value: object) -> Message:
    return value if isinstance(value, Message) else Message(str(value))


# A message inside a pydantic schema: the API writes it as English text, a page translates it.
MessageText = Annotated[
    Message,
    PlainValidator(_as_message),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string"}),
]


def field_label(field: str) -> str:
    """A field's English label, which is the catalogue's id for it: `to_department_id` and
    `items[2].to_department_id` -> "To department"."""
    parts = [p for p in re.sub(r"\[\d+\]", "", field).split(".") if p and not p.isdigit()]
    words = (parts[-1] if parts else field).removesuffix("_id").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def amount(value: float | int | Decimal | None) -> str:
    """A count or sum for people: thousands separated, cents only when there are any."""
    if value is None:
        return "–"
    number = float(value)
    return f"{int(number):,}" if number.is_integer() else f"{number:,.2f}"


def money(value: float | int | Decimal | None, locale: str) -> str:
    """A sum in CNY for people: grouped, always with cents, and the currency as each language
    writes it (39,669.00 元; ¥39,669.00)."""
    if value is None:
        return "–"
    text = f"{Decimal(str(value)).quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
    return f"¥{text}" if locale == "en" else f"{text} 元"
