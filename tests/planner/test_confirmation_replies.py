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
    # Every clause only accepts, and one says so, in words other than "yes".
    ("Got it, that is what we want.", "yes"),
    ("Yes, those details are accurate.", "yes"),
    ("You got that right.", "yes"),
    ("Excellent.", "yes"),
    ("Is that right?", None),                      # a question, not an answer
    ("Great, thanks.", None),                      # thanks: small talk, not a yes
    ("Okay, thanks, that will be all.", None),     # a closing
    ("That is not what I want.", None),
    ("That won't do.", None),
    ("Good, but not that one.", None),
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
    ("Sounds great. Where is it, and when does it open?", "Where is it, and when does it open?"),
    ("Nice, do they take pets?", "do they take pets?"),
    ("That would be great! Could we book two more seats?", None),  # asks to act
    ("Great. I want to add a second booking. OK?", None),  # not only questions
])
def test_a_yes_then_a_question(text: str, question: str | None) -> None:
    assert yes_then(text) == question


def test_the_planning_examples_run() -> None:
    assert doctest.testmod(planning).failed == 0


@pytest.mark.parametrize(("text", "closes"), [
    ("Thank you for sorting that out.", True),
    ("I really appreciate your help.", True),
    ("Okay, thanks. That will be all for today.", True),
    ("No thats all, thank you", True),
    ("I think that is everything for now. Bye.", True),
    ("No, I will pay for them later.", True),       # puts off what was offered
    ("Thanks, and could you also find a taxi?", False),
    ("Thank you. Please book it for Friday.", False),
    ("Thanks for that, now find me a flight", False),
    ("No", False),                                  # an answer, not a closing
    ("Great", False),
    ("I don't want Italian food", False),           # a constraint, not a goodbye
])
def test_a_closing_in_several_clauses(text: str, closes: bool) -> None:
    assert (planning.small_talk(text) is not None) is closes
