"""The test profile with one edit, loaded: the problems it is refused with."""

from __future__ import annotations

from pathlib import Path

import pytest

from caregrid.errors import InvalidInput
from caregrid.policy import service as policy

TEST_PROFILE = Path(__file__).parents[1] / "data" / "test-rules.yaml"


def refused(tmp_path: Path, old: str, new: str) -> list[str]:
    path = tmp_path / "test-rules.yaml"
    text = TEST_PROFILE.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        policy.load_file(path)
    return [str(p) for p in caught.value.problems]
