"""Every message a page can show has its zh-CN translation, with the same placeholders."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

from caregrid.indicators import exports
from caregrid.registry import checks
from caregrid.web.i18n import VOCAB_EN, catalog

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
    return set(re.findall(r'gettext\("([^"]*)"\)', text)) | set(exports.HEADER)


def _check_messages() -> set[str]:
    tree = ast.parse(Path(checks.__file__).read_text(encoding="utf-8"))
    return {
        str(node.args[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "msg"
        and isinstance(node.args[0], ast.Constant)
    }


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_page_message_is_translated() -> None:
    zh = catalog("zh_CN")
    wanted = _template_messages() | set(VOCAB_EN.values()) | _check_messages() | _code_messages()
    assert {"Data", "Unit code"} <= _code_messages()
    assert len(_check_messages()) >= 20
    assert sorted(wanted - set(zh)) == []


def test_check_translations_keep_their_placeholders() -> None:
    zh = catalog("zh_CN")
    for template in _check_messages():
        english = _fields(template) - {"label_en"}
        chinese = _fields(zh[template]) - {"label_zh"}
        assert english == chinese, template


def test_a_check_renders_in_chinese() -> None:
    zh = catalog("zh_CN")
    message = checks.msg("{count} designated (needs at least {needed})", count=2, needed=3)
    assert message.render() == "2 designated (needs at least 3)"
    assert message.render(lambda s: zh.get(s, s)) == "已确定 2 家（至少需要 3 家）"
