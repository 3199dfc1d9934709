from __future__ import annotations

import pytest

from lamworks import Scope
from lamworks.scopes import covers, missing_scopes


@pytest.mark.parametrize(
    ("grants", "need", "expected"),
    [
        (["user/*.rs"], "user/Patient.r", True),
        (["user/*.rs"], "user/Patient.u", False),
        (["user/Appointment.cruds"], "patient/Appointment.c", True),  # user covers patient
        (["patient/Appointment.cruds"], "user/Appointment.r", False),  # not the other way
        (["system/*.cruds"], "user/Anything.d", True),
        (["user/Patient.r", "user/Patient.s"], "user/Patient.rs", True),  # pooled
        (["user/Patient.read"], "user/Patient.rs", True),  # SMART v1 suffix
        (["user/Patient.write"], "user/Patient.r", False),
        ([], "user/Patient.r", False),
    ],
)
def test_grants_cover_needs(grants: list[str], need: str, expected: bool) -> None:
    assert covers([Scope.parse(g) for g in grants], Scope.parse(need)) is expected


@pytest.mark.parametrize("bad", ["Patient.r", "user/Patient", "user/Patient.x", "user/Patient.rc",
                                 "group/Patient.r", "user/.r"])
def test_malformed_scopes_are_refused_with_the_syntax(bad: str) -> None:
    with pytest.raises(ValueError, match="scope|permission"):
        Scope.parse(bad)


def test_missing_scopes_lists_only_uncovered_needs() -> None:
    grants = [Scope.parse("user/Note.rs")]
    needs = [Scope.parse("user/Note.r"), Scope.parse("user/Note.c")]
    assert [str(s) for s in missing_scopes(grants, needs)] == ["user/Note.c"]
    assert str(Scope.parse("user/Note.sr".replace("sr", "rs"))) == "user/Note.rs"
