"""YAML input refuses what could expand or recurse without bound, and says where."""

from __future__ import annotations

import tracemalloc

import pytest

from caregrid import yamlio
from caregrid.errors import InvalidInput

# Nine levels of nine aliases: 254 bytes that construct 9**7 (4.8 million) strings.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdef", "bcdefg", strict=True)
)


def refusal(text: str) -> tuple[str, int | None]:
    with pytest.raises(InvalidInput) as raised:
        yamlio.load_text(text, "t.yaml")
    (problem,) = raised.value.problems
    assert problem.file == "t.yaml"
    return problem.message, problem.line


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    tracemalloc.start()
    try:
        message, line = refusal(BOMB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message == "YAML anchors and aliases are not accepted" and line == 1
    assert peak < 1_000_000  # bytes: the document was never constructed


def test_a_single_anchor_or_alias_is_refused_on_its_line() -> None:
    assert refusal("x: 1\ny: &here 2\n") == ("YAML anchors and aliases are not accepted", 2)
    assert refusal("x: 1\ny:\n  - 2\n  - *there\n")[1] == 4  # an unknown alias is refused too


@pytest.mark.parametrize("depth", [yamlio.MAX_DEPTH, yamlio.MAX_DEPTH + 1])
def test_nesting_is_accepted_up_to_the_limit_and_refused_past_it(depth: int) -> None:
    text = "[" * depth + "]" * depth
    if depth <= yamlio.MAX_DEPTH:
        assert yamlio.load_text(text, "t.yaml").data is not None
    else:
        assert refusal(text) == (f"nested deeper than {yamlio.MAX_DEPTH} levels", 1)


def test_very_deep_nesting_is_refused_without_recursion() -> None:
    assert refusal("[" * 200_000 + "]" * 200_000)[0].startswith("nested deeper")


def test_plain_documents_still_load_with_their_lines() -> None:
    located = yamlio.load_text("x: 1\ny:\n  - {z: 2}\n", "t.yaml")
    assert located.data == {"x": 1, "y": [{"z": 2}]}
    assert located.line_of(["y", 0]) == 3
