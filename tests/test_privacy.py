"""Masking of national IDs and phones on pages, exports and log lines."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caregrid.privacy import (
    MaskingLogFilter,
    install_log_masking,
    mask_national_id,
    mask_phone,
    mask_text,
)

NATIONAL_ID = "330702199001010023"
PHONE = "13812345678"


# --- value masking -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (NATIONAL_ID, "330702********0023"),
        ("11010519491231002X", "110105********002X"),
        ("110105490101002", "*************02"),  # 15-digit legacy: keep last 2
        ("abc", "*bc"),
        ("12", "**"),  # never hand back an unmasked value
        ("", ""),
    ],
)
def test_mask_national_id(value: str, masked: str) -> None:
    assert mask_national_id(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (PHONE, "138****5678"),
        ("19912345678", "199****5678"),
        ("057188881234", "********1234"),  # landline with area code
        ("12012345678", "*******5678"),  # 11 digits but not a mobile prefix
        ("+8613812345678", "**********5678"),
        ("1234", "****"),
    ],
)
def test_mask_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


def test_none_passes_through() -> None:
    assert mask_national_id(None) is None
    assert mask_phone(None) is None


@given(st.text())
def test_mask_text_is_idempotent(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


# Written independently of the module's pattern: an ID or mobile not inside a longer digit run.
UNMASKED = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|1[3-9][0-9]{9})(?![0-9])")
GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _is_valid_id(value: str) -> bool:
    """The check character computed here from the standard, not through the module."""
    total = sum(int(c) * w for c, w in zip(value[:17], GB11643_WEIGHTS, strict=True))
    return value[17].upper() == "10X98765432"[total % 11]


def _unmasked(text: str) -> list[str]:
    return [m for m in UNMASKED.findall(text) if len(m) == 11 or _is_valid_id(m)]


@given(st.text(alphabet="0123456789Xx -:", max_size=60))
def test_mask_text_leaves_no_unmasked_identifier(text: str) -> None:
    masked = mask_text(text)
    assert _unmasked(masked) == []
    assert len(masked) == len(text)


@given(st.from_regex(r"[0-9]{17}", fullmatch=True), st.sampled_from("0123456789X"))
def test_mask_text_masks_exactly_the_ids_with_a_valid_check_character(body: str, last: str) -> None:
    value = body + last
    masked = mask_text(f"id {value} seen")
    if _is_valid_id(value):
        assert masked == f"id {value[:6]}********{value[-4:]} seen"
    else:
        assert masked == f"id {value} seen"


# --- log filter --------------------------------------------------------------------------


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    """A private logger writing to a StringIO, so the root logger is never touched."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("caregrid.tests.privacy")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield logger, stream, handler
    finally:
        logger.removeHandler(handler)
        for f in list(logger.filters):
            logger.removeFilter(f)
        logger.propagate = True


def test_filter_masks_id_and_phone_in_percent_args(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, _ = captured
    install_log_masking(logger)
    logger.info("registered %s, phone %s", NATIONAL_ID, PHONE)
    assert stream.getvalue() == "registered 330702********0023, phone 138****5678\n"


def test_filter_masks_inside_text_and_lower_x(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, _ = captured
    install_log_masking(logger)
    logger.info("id=11010519491231002x;tel:%d", 13812345678)
    assert stream.getvalue() == "id=110105********002x;tel:138****5678\n"


@pytest.mark.parametrize(
    "message",
    [
        "order 12345678901234567890 paid",  # 20-digit run: not an ID
        "ts 1381234567890",  # 13 digits starting like a mobile
        "123301234567890",  # 15 digits containing a mobile-looking slice
        "0" + NATIONAL_ID,  # ID-shaped slice of a 19-digit run
        "12012345678",  # 11 digits but not a mobile prefix
    ],
)
def test_filter_leaves_longer_digit_runs_alone(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler], message: str
) -> None:
    logger, stream, _ = captured
    install_log_masking(logger)
    logger.info("%s", message)
    assert stream.getvalue() == message + "\n"


def test_filter_masks_a_valid_id_in_a_request_line(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, _ = captured
    install_log_masking(logger)
    logger.info("GET /api/residents?national_id=%s 200", NATIONAL_ID)
    assert stream.getvalue() == "GET /api/residents?national_id=330702********0023 200\n"


@pytest.mark.parametrize(
    "message",
    [
        "id 330702199001010021",  # NATIONAL_ID with a wrong check digit (its own is 3)
        "id 11010519491231002Y",  # not an ID character at the end
        "id 110105194912310021",  # 11010519491231002X with a digit where X belongs
        "GET /api/referrals/123456789012345678 200",  # a long numeric path id
        "GET /api/referrals/123456789012345678/events?after=987654321098765432",
    ],
)
def test_filter_leaves_18_digits_without_a_valid_check_character(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler], message: str
) -> None:
    logger, stream, _ = captured
    install_log_masking(logger)
    logger.info("%s", message)
    assert stream.getvalue() == message + "\n"


def test_filter_still_masks_phones_beside_a_long_path_id(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, _ = captured
    install_log_masking(logger)
    logger.info("GET /api/referrals/123456789012345678?phone=%s", PHONE)
    assert stream.getvalue() == "GET /api/referrals/123456789012345678?phone=138****5678\n"


def test_filter_masks_string_args_and_keeps_them_for_formatters() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "id %s", (NATIONAL_ID,), None)
    assert MaskingLogFilter().filter(record) is True
    assert record.args == ("330702********0023",)
    assert record.getMessage() == "id 330702********0023"


def test_filter_drops_args_it_cannot_mask_one_by_one() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "tel %d", (13812345678,), None)
    assert MaskingLogFilter().filter(record) is True
    assert (record.msg, record.args) == ("tel 138****5678", ())


def test_uvicorn_access_lines_format_and_are_masked() -> None:
    """uvicorn's access formatter unpacks exactly five args; a masked query must not break it."""
    from uvicorn.logging import AccessFormatter

    path = f"/residents?national_id={NATIONAL_ID}"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )
    assert MaskingLogFilter().filter(record) is True
    line = AccessFormatter("%(message)s", use_colors=False).format(record)
    assert "330702********0023" in line and NATIONAL_ID not in line and "200" in line


def test_filter_survives_bad_args_without_leaking() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d %d", (NATIONAL_ID,), None)
    assert MaskingLogFilter().filter(record) is True
    assert NATIONAL_ID not in record.getMessage()
    assert "330702********0023" in record.getMessage()


def test_filter_masks_exception_text(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, _ = captured
    install_log_masking(logger)
    try:
        raise ValueError(f"bad phone {PHONE}")
    except ValueError:
        logger.exception("lookup failed")
    output = stream.getvalue()
    assert "ValueError: bad phone 138****5678" in output
    assert PHONE not in output


def test_child_logger_records_masked_by_handler_filter(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, _ = captured
    install_log_masking(logger)
    logging.getLogger("caregrid.tests.privacy.child").warning("phone %s", PHONE)
    assert stream.getvalue() == "phone 138****5678\n"


def test_install_is_idempotent(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = captured
    install_log_masking(logger)
    install_log_masking(logger)
    assert sum(isinstance(f, MaskingLogFilter) for f in logger.filters) == 1
    assert sum(isinstance(f, MaskingLogFilter) for f in handler.filters) == 1
    logger.info("%s", PHONE)
    assert stream.getvalue() == "138****5678\n"


def test_install_covers_handlers_added_later_when_called_again(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, _, handler = captured
    install_log_masking(logger)
    late = logging.StreamHandler(io.StringIO())
    logger.addHandler(late)
    try:
        install_log_masking(logger)
        assert sum(isinstance(f, MaskingLogFilter) for f in late.filters) == 1
        assert sum(isinstance(f, MaskingLogFilter) for f in handler.filters) == 1
    finally:
        logger.removeHandler(late)


def test_install_defaults_to_root_logger() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    # Root also carries pytest's capture handlers: restore every filter list afterwards.
    saved = [(f, list(f.filters)) for f in [root, *root.handlers]]
    try:
        install_log_masking()
        assert sum(isinstance(f, MaskingLogFilter) for f in root.filters) == 1
        assert sum(isinstance(f, MaskingLogFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)
        for filterer, filters in saved:
            filterer.filters[:] = filters
