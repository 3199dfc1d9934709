"""What a message says to a step awaiting confirmation, read without any model: a bare yes or
no is the button; a yes followed by a question confirms, then the question is asked; a yes
that changes or qualifies anything is neither, and is planned as a message of its own."""

from __future__ import annotations

import doctest

import pytest

import lamworks.planning as planning
from lamworks.planning import reply_to_confirmation, yes_then


@pytest.mark.parametrize(("text", "expected"), [
    ("yes go ahead", "yes"),
    ("That's right.", "yes"),
    ("Yes, that'll be fine.", "yes"),
    ("ok that works for me", "yes"),
    ("Sure, I agree.", "yes"),
    ("no, don't", "no"),
    ("no, that is not right", None),  # a correction follows, not a cancel
    ("that is not right", None),
    ("yes but make it 10am", None),
    ("fine, for 3 people", None),
])
def test_a_bare_yes_or_no(text: str, expected: str | None) -> None:
    assert reply_to_confirmation(text) == expected


@pytest.mark.parametrize(("text", "question"), [
    ("Yes, that's right. What is their phone number?", "What is their phone number?"),
    ("Yes that works for me, where is it exactly?", "where is it exactly?"),
    ("Right, that's correct. How long does it last?", "How long does it last?"),
    ("Yes, book it for 3 people.", None),  # changes what is confirmed
    ("Yes, fine. Could you reserve it for both of us?", None),  # asks to act: maybe again
    ("Yes, fine. Could you tell me the address?", "Could you tell me the address?"),
    ("Yes. But could it be Friday?", None),  # qualifies the yes
    ("Yes, what about Friday instead?", None),
    ("Sounds good, thanks.", None),  # nothing asked
])
def test_a_yes_then_a_question(text: str, question: str | None) -> None:
    assert yes_then(text) == question


def test_the_planning_examples_run() -> None:
    assert doctest.testmod(planning).failed == 0
