"""Recognising requests for clinical advice (diagnosis, treatment, medication), offline.

A transparent rule set, not a model: cheap to import, deterministic, and each decision names the
rule that fired. A request is clinical advice when it asks for a medical judgement — what a
symptom means, whether to take, stop or change a medicine, how to treat something, what a
result says — even if it also mentions an appointment. Administrative requests that merely
mention a symptom as the reason for a visit ("book Ana for her rash") are not advice.
Measured on ``evals/clinical_advice.jsonl`` by ``bench/healthcare_advice.py``.
"""

from __future__ import annotations

import re

__all__ = ["advice_rule", "is_clinical_advice"]

_DRUG = (r"(ibuprofen|advil|tylenol|paracetamol|acetaminophen|aspirin|antibiotics?|amoxicillin|"
         r"insulin|metformin|statins?|lisinopril|prednisone|steroids?|antidepressants?|sertraline|"
         r"xanax|melatonin|benadryl|antihistamines?|opioids?|oxycodone|codeine|warfarin|"
         r"blood thinners?|painkillers?|pain relievers?|pills?|meds|medications?|medicines?|"
         r"drugs?|dose|dosage|mg|tablets?|"
         r"inhaler|cream|ointment|supplements?|vitamins?|birth control|vaccines?)")
_NOT_A_CONDITION = (
    # "do I have" / "does she have" a condition, not "any appointments", "one on Friday",
    r"(?! (any|an? (appointment|visit|booking|slot|referral)|appointments?|"
    # ... nor "anything booked", "something on Friday"
    r"(anything|something|nothing) (booked|scheduled|planned|coming|on|at|"
    r"in|for|with|left|due)|"
    r"visits?|bookings?|slots?|referrals?|coverage|insurance|between|on|at|"
    r"in|for|today|tomorrow|this|next|coming|upcoming|time)\b)")
"""What may follow "do I have" when it asks about a condition (a following word is required:
"what appointments does she have?" asks about the calendar)."""
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I)) for name, pattern in (
        ("dose", r"\b(how (much|many)|what (dose|dosage|amount))\b.*\b" + _DRUG),
        ("take-drug", r"\b(should|can|could|may|must|do) (i|he|she|we|they|my \w+)( still)? "
                      r"(take|use|give|stop|skip|double|mix|combine|switch|start|increase|"
                      r"lower|reduce|quit|come off|wean)\b"),
        ("safe", r"\b(is it|is this|are they|it is) (ok|okay|safe|dangerous|bad|normal|fine|"
                 r"serious|harmful)\b.*\b(to|if|for|when)\b"),
        ("safe-drug", r"\b(safe|ok|okay|dangerous)\b.*\b" + _DRUG),
        ("drug-safe", r"\b" + _DRUG + r"\b.*\b(safe|dangerous|harmful|addictive)\b"),
        ("right-dose", r"\b(right|correct|max|maximum|usual|normal|safe) (dose|dosage|amount)\b"),
        ("keep-taking", r"\b(keep|continue|stay on|go on) (taking|using|on)\b"),
        ("is-it-bad", r"\bis (that|this|it) (too )?(bad|good|high|low|normal|dangerous|serious|"
                      r"worrying|concerning)\s*\??\s*$"),
        ("might-be", r"\b(might|could|can|would) (this|it|that)\b[\w\s]{0,40}\bbe (serious|"
                     r"cancer\w*|an? \w+ (infection|problem)|infected|broken|malignant|"
                     r"dangerous|contagious)\b"),
        ("need-treatment", r"\b(do|will|would|if) i need (surgery|stitches|antibiotics|an "
                           r"operation|a cast|medication|medicine|treatment|a biopsy)\b"),
        ("worried", r"\bshould (i|we) be (worried|concerned)\b"),
        ("drug-with", r"\b" + _DRUG + r"\b.*\b(with|and) (alcohol|wine|beer|grapefruit)\b"),
        ("side-effects", r"\b(side[- ]effects?|interactions?|overdos\w*|allergic reaction)\b"),
        ("what-drug", r"\bwhat (medicine|medication|drug|antibiotic|pill|cream|treatment|"
                      r"remedy|painkiller)s?\b"),
        ("best-for", r"\b(best|good|right|strongest) (medicine|medication|drug|treatment|remedy|"
                     r"painkiller|antibiotic|cream|thing to take)\b"),
        ("treat", r"\bhow (do|can|should|to) (i |we |you )?(treat|cure|heal|get rid of|fix|"
                  r"manage|relieve|stop)\b"),
        ("treatment-for", r"\b(treatment|cure|remedy|remedies|medication|medicine) (for|of)\b"),
        ("diagnose", r"\b(diagnos\w*|what('s| is) wrong with (me|him|her|my)|"
                     r"(do i|does (he|she|my \w+)) have" + _NOT_A_CONDITION + r"(?= \w)|"
                     r"could (it|this) be|might (it|this) be|"
                     r"am i (having|getting|pregnant|sick|ill)|"
                     r"is (it|this|that)( \w+){0,2} (a |an )?"
                     r"(cancer|infection|infected|tumou?r|stroke|heart attack|"
                     r"melanoma|covid|flu|broken|fracture|std|sti|diabetes|allergy|concussion|"
                     r"contagious|serious|normal))\b"),
        ("symptom-meaning", r"\bwhat (does|do|could|might|can) (my |a |an |this |these |the )?"
                            r"[\w\s-]{0,40}\b(mean|indicate|suggest|cause)\b"),
        ("why-symptom", r"\bwhy (do|does|am|is) (i|my|he|she)\b.*\b(hurt|ache|pain|itch|swollen|"
                        r"bleed|dizzy|tired|cough|fever|rash|sore|numb|shak)\w*"),
        ("results", r"\b(interpret|explain|read|understand)\b.*\b(results?|labs?|blood (test|"
                    r"work)|x-?ray|scan|mri|ecg|ekg|biopsy|cholesterol|a1c|levels?)\b"),
        ("level-high", r"\b(is|are) (my )?[\w\s]{0,25}\b(levels?|pressure|sugar|count|"
                       r"cholesterol|a1c|heart rate|temperature|bmi)\b.{0,20}\b(too |dangerously )?"
                       r"(high|low|normal|bad|ok|okay)\b"),
        ("need-doctor", r"\b(do i need|should i (go to|see|get)|should i be worried|"
                        r"worried about|is it an emergency)\b.*\b(er|emergency|surgery|"
                        r"stitches|antibiotics|x-?ray|worried|doctor|hospital|mole|lump|pain|"
                        r"rash|fever|this)\b"),
        ("what-do", r"\bwhat (should|can|do) (i|we) (do|take|use|give)\b.*\b(for|about|"
                    r"with) (my|his|her|a|the|this|these)\b"),
        ("home-care", r"\b(home remed\w*|natural (cure|remedy)|self[- ]treat\w*)\b"),
        ("prescribe", r"\b(prescribe|recommend|suggest) (me )?(a |an |some )?\w*\s?"
                      + _DRUG),
    ))


def advice_rule(utterance: str) -> str | None:
    """The name of the first rule that says this asks for clinical advice, or ``None``."""
    text = " ".join(utterance.split())
    for name, pattern in _RULES:
        if pattern.search(text):
            return name
    return None


def is_clinical_advice(utterance: str) -> bool:
    """True when the request asks for a diagnosis, treatment or medication advice."""
    return advice_rule(utterance) is not None
