"""A post-policy's redaction reaches the summary sentence too (lamworks.policies.redact_text)."""

from __future__ import annotations

from lamworks.policies import REDACTED, redact_text

DATA = {"count": 2, "candidates": [
    {"name": "Ana Ruiz", "birth_date": "1984-03-12", "mrn": "MRN-000001", "phone": "555-0101"},
    {"name": "Ana Ruiz", "birth_date": "1990-07-01", "mrn": "MRN-000012", "phone": "555-0102"},
]}


def test_every_hidden_value_goes_wherever_the_sentence_put_it() -> None:
    text = ("2 patients match: 1. Ana Ruiz, born 1984-03-12 (MRN-000001); 2. Ana Ruiz, born "
            "1990-07-01 (MRN-000012). Call 555-0101.")
    shown = redact_text(text, DATA, ["candidates.birth_date", "candidates.mrn"])
    for hidden in ("1984-03-12", "1990-07-01", "MRN-000001", "MRN-000012"):
        assert hidden not in shown
    assert shown.count(REDACTED) == 4
    assert "Ana Ruiz" in shown and "555-0101" in shown  # not hidden: still there


def test_dates_are_hidden_as_tools_print_them() -> None:
    data = {"birth_date": "1984-03-12"}
    for text in ("born 12 Mar 1984", "born March 12, 1984", "born 03/12/1984",
                 "born 12 March 1984", "born 1984-03-12T00:00:00"):
        assert "1984" not in redact_text(text, data, ["birth_date"]), text


def test_only_whole_values_are_hidden() -> None:
    data = {"member_id": "12", "mrn": "MRN-1"}
    text = "Visit 123 on 12 May; MRN-12 is someone else; 12."
    assert redact_text(text, data, ["member_id", "mrn"]) == (
        "Visit 123 on [redacted] May; MRN-12 is someone else; [redacted].")


def test_nothing_to_hide_leaves_the_text_alone() -> None:
    assert redact_text("Found Ana Ruiz.", DATA, ["candidates.address"]) == "Found Ana Ruiz."
    assert redact_text("", DATA, ["candidates.mrn"]) == ""
    assert redact_text("yes", {"flag": True}, ["flag"]) == "yes"
