"""Masking of personal identifiers (national ID, phone) for roles that do not need them.

Requirement: "ID and phone are masked in every page, log line and export for roles that do
not need them" (DESIGN.md, security model). Pages and exports call :func:`mask_national_id`
and :func:`mask_phone`; log lines are covered by :class:`MaskingLogFilter`, because a log line
is read by operators who never have a need to see either identifier.

Masking is idempotent (masked text contains no long digit runs), so applying it twice is safe.
"""

from __future__ import annotations

import logging
import re
from typing import Final

from caregrid import gb11643

__all__ = [
    "MaskingLogFilter",
    "install_log_masking",
    "mask_national_id",
    "mask_phone",
    "mask_text",
]

_STAR: Final = "*"
_NATIONAL_ID_LENGTH: Final = 18
_MAINLAND_MOBILE: Final = re.compile(r"1[3-9][0-9]{9}")

# ASCII digits only ([0-9], not \d, which also matches full-width and other scripts' digits).
# The look-arounds keep a match from being a slice of a longer digit run (an account number,
# a timestamp in nanoseconds): those are left alone rather than half-masked. An ID-shaped run
# is masked only when its last character is the GB 11643 check character (see _mask_match).
_IDENTIFIER_IN_TEXT: Final = re.compile(
    r"(?<![0-9])(?:(?P<national_id>[0-9]{17}[0-9Xx])|(?P<phone>1[3-9][0-9]{9}))(?![0-9])"
)


def _keep_last(value: str, keep: int) -> str:
    # A value no longer than what we would keep is starred whole: masking must hide something.
    if len(value) <= keep:
        return _STAR * len(value)
    return _STAR * (len(value) - keep) + value[-keep:]


def mask_national_id(value: str | None) -> str | None:
    """Hide the birth date: "330702********0021". Other lengths keep only the last 2 characters.

    Address code and the last 4 stay visible so staff can still tell records apart on screen.
    """
    if value is None:
        return None
    if len(value) == _NATIONAL_ID_LENGTH:
        return value[:6] + _STAR * 8 + value[-4:]
    return _keep_last(value, 2)


def mask_phone(value: str | None) -> str | None:
    """Mainland mobile (11 digits, 1[3-9]...) -> "138****5678"; other numbers keep the last 4."""
    if value is None:
        return None
    if _MAINLAND_MOBILE.fullmatch(value):
        return value[:3] + _STAR * 4 + value[-4:]
    return _keep_last(value, 4)


def _mask_match(match: re.Match[str]) -> str:
    if match.group("national_id") is not None:
        # 18 digits without a valid check character are not an ID (a numeric path id, an
        # order number): left as they are. An ID mistyped so that its check character no
        # longer fits is then left unmasked too: the price of not mangling long numbers.
        if not gb11643.has_valid_check(match.group(0)):
            return match.group(0)
        return mask_national_id(match.group(0)) or ""
    return mask_phone(match.group(0)) or ""


def mask_text(text: str) -> str:
    """Mask every national ID (valid check character) and mainland mobile number in free text."""
    return _IDENTIFIER_IN_TEXT.sub(_mask_match, text)


class MaskingLogFilter(logging.Filter):
    """Rewrite each record so that no handler can emit an unmasked ID or phone.

    When masking each string argument masks the whole message, the masked arguments stay (a
    formatter may need them: uvicorn's access log unpacks five). Otherwise the final message is
    formatted here and the args dropped, so the identifiers cannot come back through a
    formatter (an ID or phone passed as a number, say). Exception and stack text is masked too
    (an exception message may quote the value that failed); it is pre-rendered with the
    standard traceback format. Never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._mask_args(record):
            try:
                message = record.getMessage()
            except Exception:
                # Bad %-args must not turn a log call into a crash, nor leak args via handleError.
                message = f"{record.msg} (unformattable log args: {record.args!r})"
            record.msg = mask_text(message)
            record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True

    @staticmethod
    def _mask_args(record: logging.LogRecord) -> bool:
        """Mask a tuple of args in place if that leaves nothing unmasked in the message."""
        if not isinstance(record.args, tuple) or not record.args or not isinstance(record.msg, str):
            return False
        template = mask_text(record.msg)
        args = tuple(mask_text(a) if isinstance(a, str) else a for a in record.args)
        try:
            message = template % args
        except Exception:
            return False
        if mask_text(message) != message:
            return False
        record.msg, record.args = template, args
        return True


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Add one shared :class:`MaskingLogFilter` to ``logger`` (root by default) and its handlers.

    Both are needed: logger filters only see records logged on that very logger, while
    records propagated up from child loggers ("caregrid.web" -> root) only pass the handlers.
    Idempotent. Handlers added afterwards are not covered: call this again after adding them.
    """
    target = logger if logger is not None else logging.getLogger()
    existing = [f for f in target.filters if isinstance(f, MaskingLogFilter)]
    masking = existing[0] if existing else MaskingLogFilter()
    if not existing:
        target.addFilter(masking)
    for handler in target.handlers:
        if not any(isinstance(f, MaskingLogFilter) for f in handler.filters):
            handler.addFilter(masking)
