"""Recognising requests for someone else to do a student's graded work.

:func:`integrity_violation` reads a request as a person typed it and says whether it asks the
assistant to write, rewrite, finish or complete graded work (an essay, an assignment, homework,
answers to a quiz or test) — including disguised forms ("make my essay sound better and give me
the full text", "paraphrase this so it passes the checker"). Requests for feedback, hints,
explanations, practice, grades or a study plan are legitimate and pass.

Rule-based on purpose: every refusal can be explained, and the measured error rates are in
``evals/integrity.jsonl`` (``bench/education_integrity.py``).
"""

from __future__ import annotations

import re

__all__ = ["integrity_violation"]

_WORK = (r"(?:essay|essays|assignment|homework|hw|paper|report|lab(?: report)?|thesis|"
         r"paragraph|paragraphs|intro(?:duction)?|conclusion|draft|response|responses|"
         r"discussion post|reflection|story|poem|speech|worksheet|project|answers?|"
         r"quiz|test|exam|problem set|questions?|summary|book report|article|analysis|"
         r"take-home|coursework|sentences?|text|one)")
_PRODUCE = (r"(?:write|writing|writ(?:e|ing) up|rewrite|rewriting|re-write|redo|re-do|finish|"
            r"finishing|complete|completing|do|doing|"
            r"draft|compose|generate|produce|create|make|paraphrase|reword|rephrase|"
            r"spin|polish|fix up|fill in|fill out|solve|answer|type up|come up with|"
            r"ghost-?write|turn in|submit|hand in)")

_PATTERNS: tuple[re.Pattern[str], ...] = tuple(re.compile(p, re.IGNORECASE) for p in (
    # "write my essay", "do my homework", "finish this assignment for me"
    rf"\b{_PRODUCE}\b(?:\W+\w+){{0,5}}?\W+(?:my|this|the|our|an?|his|her|these)\b"
    rf"(?:\W+\w+){{0,4}}?\W+{_WORK}\b",
    # "... for me" right after a production verb about work
    rf"\b{_PRODUCE}\b[^.?!]{{0,60}}\b{_WORK}\b[^.?!]{{0,40}}\bfor me\b",
    rf"\b{_WORK}\b[^.?!]{{0,40}}\b(?:for me|on my behalf|in my place|instead of me)\b",
    # "give me the full text / final version / a version I can submit"
    r"\b(?:give|send|show|hand|type)(?: me)?\b[^.?!]{0,40}\b(?:full|final|finished|complete|"
    r"whole|entire|new|improved|better|corrected|polished|rewritten|revised)\s+(?:text|"
    r"version|essay|draft|copy|paper|thing)\b",
    r"\b(?:i can|i could|to|ready to|that i can|so i can)\s+(?:submit|hand in|turn in|"
    r"copy|paste)\b",
    r"\b(?:submit|hand in|turn in)\b[^.?!]{0,30}\b(?:as|under) (?:my|mine)\b",
    # "answers to question 3 of my quiz", "what are the answers to the test"
    r"\b(?:the |all the )?answers? (?:to|for) (?:my |the |this |tomorrow's |today's )?"
    r"(?:take-home |online |graded |unit \d+ )?(?:quiz|test|exam|worksheet|homework|"
    r"assignment|problem set)",
    r"\b(?:answer key|solutions?) (?:to|for) (?:the |my |this )?(?:quiz|test|exam|"
    r"homework|assignment)",
    # evading detection
    r"\b(?:pass|avoid|beat|bypass|fool|get past|undetectable|not detect)\w*\b[^.?!]{0,40}"
    r"\b(?:plagiarism (?:check|checker|detector|software|scan)|turnitin|ai detect|detector|"
    r"checker|gptzero)",
    r"\b(?:checker|detector|turnitin|teacher|professor)\b[^.?!]{0,20}\b(?:won'?t|doesn'?t|"
    r"can'?t|will not|does not) (?:catch|flag|detect|know|notice|find out|tell)",
    r"\b(?:write|do|finish|complete)\b (?:the )?(?:whole|entire|rest of the) (?:thing|it)\b",
    r"\b(?:so|make it|won'?t|doesn'?t|not) (?:sound|look)s? (?:like )?(?:ai|chatgpt|a bot|"
    r"copied|plagiari[sz]ed)",
    r"\bsound like (?:i|me|a student) wrote it\b",
    # "make my essay sound better ... full/whole"
    r"\bmake (?:my|this|the) (?:essay|paper|paragraph|draft|assignment)\b[^.?!]{0,50}\b"
    r"(?:and (?:give|send|write)|full|whole|entire|rewrit)",
    r"\b(?:write|finish|complete)\b[^.?!]{0,20}\b(?:\d+|five|three|two|one)[- ](?:page|"
    r"paragraph|word|sentence)",
    r"\bpretend (?:you are|to be) me\b",
    r"\b(?:take|do) (?:my|the) (?:online )?(?:quiz|test|exam)\b",
))

_LEGIT = re.compile(
    r"\b(?:feedback|review|grade|score|rate|assess|evaluate|check|critique|comment|"
    r"what(?:'s| is) wrong|how (?:do|can|should|could) i|how to|tips?|advice|explain|"
    r"hint|teach|tutor|help me (?:understand|learn|brainstorm|outline|plan|study)|quiz me|"
    r"practice|study plan|schedule|what are my grades|my grades|policy|rubric|example of a "
    r"thesis|strategies)\b", re.IGNORECASE)
_HARD = re.compile(
    r"(?:full|final|whole|entire|complete|finished|new|rewritten) (?:text|version|essay|draft|copy)"
    r"|for me\b|submit|hand in|turn in|turnitin|detector|checker|sound like i wrote|copied"
    r"|answers? (?:to|for)|answer key|do my|write my|pretend (?:you are|to be) me",
    re.IGNORECASE)


def integrity_violation(utterance: str) -> bool:
    """True when ``utterance`` asks for graded work to be done for the student."""
    text = " ".join(utterance.split())
    if not text:
        return False
    hit = any(p.search(text) for p in _PATTERNS)
    if not hit:
        return False
    # "Can you give feedback on my essay and check it" is legitimate; but a legitimate word
    # never excuses an explicit ask for finished text ("review it and give me the full text").
    if _LEGIT.search(text) and not _HARD.search(text):
        return False
    return True
