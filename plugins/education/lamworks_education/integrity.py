"""Recognising requests for someone else to do a student's graded work.

:func:`integrity_violation` reads a request as a person typed it and says whether it asks the
assistant to write, rewrite, finish or complete graded work (an essay, an assignment, homework,
a worksheet, part of a report, answers to a quiz or test), including disguised forms ("make my
essay sound better and give me the full text", "paraphrase this so it passes the checker").
Requests for feedback, hints, explanations, practice, grades, sources, citations, policies or a
study plan are legitimate and pass. :func:`integrity_reason` says which rule refused, for
explanations and tests.

Decision procedure
==================

1. **Normalise.** Lower-case; curly quotes made straight; chat spellings expanded ("u", "ur",
   "pls", "tmrw", "hw", "gimme"); a few multi-word terms joined into one token ("problem set",
   "fill in", "type up"). Then a *typo-tolerant* pass: a token that is not a known word and is
   within one edit (insert, delete, substitute, swap) of a key word of the vocabulary
   ("wrtie" -> write, "esay" -> essay, "homwork" -> homework) is read as that word. Real English
   words one edit from a key word ("white", "wrote", "summit", "compete") are never changed.

2. **Find production requests** (verb + object). Each verb of the vocabulary below is a request
   to the assistant only when the assistant is its doer: an imperative ("write my essay"), or
   "you"/"someone" is the nearest subject ("can u write", "I need you to write"). It is *not* a
   request when the student is the doer ("I have to write an essay; what sources..."), in a
   how-to or permission question ("how do I write", "am I allowed to rewrite"), negated
   ("don't rewrite it", "without solving it"), or a gerund used as a noun ("is rewriting ...
   plagiarism?"). The object noun phrase after the verb is then read: its head noun decides.

   - *Graded documents* (essay, paper, homework, worksheet, lab report, discussion post,
     submission...) are work with any determiner.
   - *Document parts* (conclusion, discussion section, abstract, paragraph...) and *written
     pieces* (story, poem, code, post, answers...) are work when they are the student's ("my",
     "this paragraph"), belong to graded work ("the discussion section of my lab report") or
     the request is in a graded context ("for my class", "it's graded", "due tomorrow",
     "worth 30%").
   - *Problems and questions* are work only for answering verbs (solve, answer, do, complete)
     and only in a graded context ("questions 1-8 on my worksheet").
   - *Study aids* (study plan, flashcards, practice quiz, hint, example, sources, feedback) and
     anything marked practice or ungraded are never work.

   Verbs come in classes: writing (write, compose, draft...), rewriting (rewrite, paraphrase,
   translate...), finishing (finish, complete, fill in), answering (solve, answer, do), taking
   an assessment (take my quiz), handing over (give me a finished essay / the full text), needing
   ("I need a 600-word essay", "I need my essay written by tonight") and *editing* (fix,
   improve, polish, make ... better). Editing is the only weak class: it refuses unless the
   request also asks for feedback or explanation ("check my essay and fix the commas").
   A stated amount of text is work ("write 800 words on..."), and so is "it"/"one" when the
   utterance names the work ("my essay is due in an hour, write it").

3. **Phrase cues**, each enough by itself:
   - answers to a graded assessment ("just give me the answers to the chem midterm", "answer
     key for the unit 2 exam", a question asked while "my midterm is online right now"), not
     the student's own answers, practice ones, or a request to explain them;
   - evading detection ("so turnitin won't catch it", "humanize this", "sound like I wrote it");
   - proxy ("pretend to be me", "be my ghostwriter");
   - transforming material into graded work ("turn my notes into a 1000-word essay");
   - a bare order with no verb ("essay on macbeth. 800 words. due tmrw").

4. **Hand-over cues** ("so I can submit it", "I'll just paste it in", "I'm submitting whatever you
   send", "written out in full") refuse any request that asks the assistant to produce or change
   text other than a study aid, whatever the object, and override the feedback cues of step 2.

5. **Learned second stage.** What the rules let through goes to a logistic regression
   (:mod:`lamworks_education.integrity_model`: word n-grams of the normalised request plus
   cues from the reading above, trained on ``evals/integrity.jsonl``,
   ``evals/integrity_independent.jsonl`` and ``evals/integrity_train.jsonl``). It refuses when
   its probability reaches a threshold chosen by cross-validation on those files and the
   request touches school work at all (a graded document, assessment, course, teacher...). It
   only ever adds refusals; when it cannot be fitted the rules decide alone (logged).

:func:`integrity_reason` is the rule stage alone (it names the rule); :func:`integrity_explanation`
and :func:`integrity_violation` are the policy's decision, both stages. Every rule refusal can
be explained by name; a learned refusal gives its probability. The measured error rates are
printed by ``bench/education_integrity.py``; ``tests/test_integrity.py`` pins each category with
utterances of its own. It runs on every request: the rules are plain token scanning, set
look-ups and a handful of precompiled regular expressions (about 40 microseconds per request);
the learned stage adds a dictionary look-up per n-gram and a dot product.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["integrity_explanation", "integrity_reason", "integrity_violation"]


def _forms(*words: str) -> frozenset[str]:
    """A word with its -s plural / third person: "essay" -> essay, essays."""
    out: set[str] = set()
    for w in words:
        out.add(w)
        out.add(w + ("es" if w.endswith(("s", "sh", "ch", "x", "z")) else "s"))
    return frozenset(out)


# --------------------------------------------------------------------------------------------
# Vocabulary: what counts as work
# --------------------------------------------------------------------------------------------

# Graded documents: a request to produce one of these is a request for graded work, whatever
# the determiner ("write an essay", "do my homework", "a complete submission").
_GRADED_DOCS = _forms(
    "essay", "paper", "assignment", "homework", "coursework", "classwork", "report", "thesis",
    "theses", "dissertation", "write-up", "writeup", "portfolio", "project", "capstone",
    "submission", "composition", "worksheet", "problem-set", "pset", "draft", "term-paper",
    "book-report", "lab-report", "take-home", "homework-sheet", "journal", "reflection",
    "packet", "workbook", "handout", "log", "reading-log", "lab-notebook", "dbq", "powerpoint",
    "ppt", "slideshow", "poster", "infographic", "brochure", "pamphlet", "precis", "précis",
    "case-study", "literature-review", "research-paper", "research-proposal",
)
# Assessments: answered, completed or taken (not written: "write a quiz" is a practice aid).
_ASSESSMENTS = _forms(
    "quiz", "test", "exam", "midterm", "final", "assessment", "take-home", "problem-set",
    "pset", "worksheet", "homework", "assignment", "coursework", "classwork",
) | {"quizzes", "finals"}
# Parts of a document: work when they are the student's or belong to graded work.
_PARTS = _forms(
    "paragraph", "intro", "introduction", "conclusion", "body", "section", "abstract",
    "chapter", "ending", "opening", "statement", "hook", "methods", "methodology", "results",
    "discussion", "hypothesis", "page", "body-paragraph", "thesis-statement",
    "topic-sentence",
)
# Written pieces: work when the student's or in a graded context ("a poem for my assignment").
_PIECES = _forms(
    "story", "poem", "sonnet", "haiku", "limerick", "speech", "script", "article", "review",
    "analysis", "summary", "critique", "response", "reply", "post", "entry", "code",
    "program", "piece", "translation", "slide", "presentation", "narrative", "memo",
    "proposal", "lab", "bibliography", "annotation", "text", "sentence", "word", "letter",
    "answer", "solution", "study", "resume", "cv", "caption", "biography", "dialogue", "skit",
    "song", "lyric", "stanza", "verse",
) | {"analyses", "summaries", "entries", "stories", "bibliographies", "slides"}
# Problems and questions: work only for answering verbs, and only in a graded context.
_PROBLEMS = _forms(
    "question", "problem", "exercise", "equation", "integral", "derivative", "proof",
    "calculation", "blank", "prompt", "item", "task", "activity", "essay-question", "frq",
    "saq", "mcq", "free-response", "short-answer", "word-problem",
)
# Heads that are study aids or information, never work ("a study plan for my test").
_AIDS = _forms(
    "plan", "schedule", "flashcard", "card", "hint", "tip", "idea", "topic", "source",
    "citation", "reference", "feedback", "comment", "suggestion", "list", "guide", "timeline",
    "checklist", "mnemonic", "outline", "note", "email", "message", "rubric", "grade", "score",
    "mark", "deadline", "example", "explanation", "definition", "overview", "glossary",
    "instruction", "requirement", "criterion", "format", "policy", "help", "advice", "date",
    "strategy", "step", "way", "time", "word-count", "length", "average", "result",
    "mistake", "error", "grammar", "spelling", "punctuation", "vocab", "vocabulary",
    "question-bank", "study-guide", "reading", "textbook", "lesson", "lecture", "font",
    "font-size", "formatting", "layout", "margin", "spacing", "title", "heading", "header",
    "size", "color", "colour", "template", "understanding",
) | {"criteria", "quizzes", "tests", "exams"}
# Modifiers that take a piece of work out of graded territory ("a practice quiz").
_UNGRADED = frozenset({"practice", "mock", "ungraded", "sample", "example", "generic",
                       "hypothetical", "model", "demo", "fake"})
# ...but "sample"/"model" do not excuse a whole graded document ("give me a model essay").
_SOFT_FOR_DOCS = frozenset({"practice", "mock", "ungraded"})
# Finished-product adjectives: "give me the finished / full / rewritten version".
_FINISHED = frozenset({
    "full", "final", "finished", "complete", "completed", "whole", "entire", "polished",
    "rewritten", "revised", "corrected", "improved", "fixed", "clean", "perfect", "model",
    "a-grade", "a+", "better", "new", "ready", "submittable", "hand-in-ready", "edited",
    "updated", "cleaned-up", "written",
})
_VERSIONS = _forms("version", "text", "copy", "thing", "one", "draft", "product", "piece")

# --------------------------------------------------------------------------------------------
# Vocabulary: the doing verbs, by class
# --------------------------------------------------------------------------------------------

_VERB_CLASSES: dict[str, tuple[str, ...]] = {
    # produce new text
    "write": ("write", "writes", "writing", "compose", "composes", "composing", "draft",
              "drafts", "drafting", "generate", "generating", "produce", "producing", "create",
              "creating", "craft", "crafting", "pen", "ghostwrite", "ghost-write", "type_up",
              "type_out", "come_up_with", "put_together", "whip_up", "knock_out", "churn_out",
              "prepare", "prepares", "preparing"),
    # re-make existing text
    "rewrite": ("rewrite", "rewrites", "rewriting", "re-write", "redo", "re-do", "redoing",
                "paraphrase", "paraphrasing", "reword", "rewording", "rephrase", "rephrasing",
                "spin", "translate", "translating", "rework", "reworking", "restructure",
                "redraft", "humanize", "humanise", "humanizing", "humanising"),
    # finish what is started
    "finish": ("finish", "finishes", "finishing", "complete", "completes", "completing",
               "fill_in", "fill_out", "continue", "continuing", "wrap_up", "handle", "tackle",
               "take_care_of", "deal_with", "crank_out", "bang_out"),
    # answer questions / solve problems
    "answer": ("answer", "answers", "answering", "solve", "solves", "solving", "do", "doing",
               "respond_to", "respond", "work_out", "figure_out", "calculate"),
    # edit (weak: legitimate when the request is about feedback)
    "edit": ("fix", "fixing", "fix_up", "improve", "improving", "polish", "polishing", "edit",
             "editing", "correct", "proofread", "enhance", "tweak", "revise", "revising",
             "expand", "lengthen", "shorten", "clean_up", "touch_up", "make", "upgrade",
             "spruce_up", "perfect", "change", "modify", "alter", "adjust", "tidy"),
    # hand over a product
    "give": ("give", "send", "show", "hand", "provide", "paste", "return", "get", "email",
             "print", "share", "post"),
    # sit an assessment in the student's place
    "take": ("take", "sit"),
    # "I need a 600-word essay"
    "need": ("need", "want", "like", "require"),
}
_VERBS = {form: cls for cls, forms in _VERB_CLASSES.items() for form in forms}
_ANSWERING = {"answer", "finish"}          # classes for which problems/questions are work

# Nouns/verbs with the same spelling are verbs only after these words (or at a clause start).
_AMBIGUOUS = frozenset({"answer", "answers", "draft", "drafts", "do", "make", "post", "get",
                        "return", "like", "need", "want", "take", "show", "print", "correct",
                        "perfect", "expand", "share", "hand", "complete", "spin", "continue",
                        "pen", "sit", "edit", "respond", "calculate", "prepare", "email"})
_VERB_LEAD = frozenset({
    "please", "just", "kindly", "now", "also", "then", "and", "you", "to", "me", "can",
    "could", "would", "will", "should", "must", "simply", "quickly", "actually", "literally",
    "go", "i", "we", "someone", "somebody", "pls", "u", "i'll", "i'd", "gonna", "gotta",
    "help", "better", "dan", "bot",
})
_DETERMINERS = frozenset({
    "a", "an", "the", "my", "our", "your", "this", "that", "these", "those", "his", "her",
    "their", "some", "any", "one", "each", "every", "all", "both", "another", "its", "'s",
    "first", "final", "rough", "short", "right", "correct", "wrong", "best", "good", "last",
    "second", "full", "whole", "new", "old", "same", "which", "what", "no",
})
_POSSESSIVE = frozenset({"my", "our", "mine"})
_DEMONSTRATIVE = frozenset({"this", "these", "that", "those"})
_OTHERS = frozenset({"your", "his", "her", "their"})   # someone else's work
_ANAPHORA = frozenset({"it", "this", "that", "them", "these", "those", "one", "ones",
                       "everything", "all", "something", "anything", "stuff"})
_SKIP_INDIRECT = frozenset({"me", "us", "him", "her", "them", "back", "up", "out", "over",
                            "what", "here", "there", "quickly", "now"})
# Noun phrase ends at a preposition or a clause word; "of" after a quantifier continues it.
_PREPOSITIONS = frozenset({
    "for", "on", "about", "of", "in", "into", "to", "from", "with", "by", "using", "at",
    "before", "after", "due", "so", "that", "which", "who", "because", "but", "then", "if",
    "as", "like", "than", "without", "until", "while", "when", "since", "or", "via", "per",
    "based", "regarding", "covering", "i", "i'll", "i'm", "you", "it's", "is", "are", "was",
    "will", "would", "should", "can", "could",
})

# --------------------------------------------------------------------------------------------
# Vocabulary: who is the doer (scanned backwards from the verb, within the clause)
# --------------------------------------------------------------------------------------------

_DOER_ASSISTANT = frozenset({"you", "u", "ya", "yourself", "someone", "somebody", "anyone",
                             "anybody", "chatgpt", "gpt", "assistant", "bot", "you'd",
                             "you'll", "you're", "youre"})
_DOER_STUDENT = frozenset({"i", "i'll", "i'm", "i've", "i'd", "im", "we", "we'll", "we're",
                           "we've", "myself", "ourselves", "let", "while", "when", "before",
                           "after", "since", "until"})
_DOER_OTHER = frozenset({"he", "she", "they", "teacher", "professor", "prof", "instructor",
                         "tutor", "mom", "dad", "mum", "grandma", "grandpa", "friend", "sister",
                         "brother", "classmate", "parent", "parents", "used", "people",
                         "students", "student", "who", "partner"})
_HOW_TO = frozenset({"how", "way", "ways", "tips", "tip", "steps", "advice", "learn",
                     "strategies", "strategy", "guide", "teach", "process", "what", "best"})
_NEGATION = frozenset({"not", "don't", "dont", "never", "without", "no", "doesn't", "won't",
                       "wont", "shouldn't", "didn't", "instead", "can't", "cannot", "stop"})
_PERMISSION = frozenset({"allowed", "permitted", "okay", "ok", "fine", "acceptable",
                         "cheating", "legal", "against", "plagiarism", "wrong"})
# "-ing" forms are requests only after these ("help me by writing", "would you mind doing").
_GERUND_REQUEST = frozenset({"by", "mind", "start", "keep", "try", "you", "u", "someone",
                             "somebody", "begin", "continue", "were", "are"})
_CLAUSE_BREAK = frozenset({".", ",", ";", ":", "!", "?", "(", ")", "\"", "'", "-", "and",
                           "but", "so", "then", "because", "or", "also"})

# --------------------------------------------------------------------------------------------
# Phrase cues (regular expressions over the normalised text)
# --------------------------------------------------------------------------------------------

_ASSESS_RE = (r"(?:quiz(?:zes)?|tests?|exams?|midterms?|finals?|assessments?|take-home|"
              r"problem-sets?|psets?|worksheets?|homework|assignments?|coursework|labs?|"
              r"graded \w+)")

# A graded context: the request is about something that counts.
_GRADED_CONTEXT = re.compile(
    r"\b(?:graded|for (?:a |my |the )?(?:grade|marks?|credit|points)|worth \d+|\d+ ?% of|"
    r"counts? (?:toward|towards|for|as)|participation|for (?:class|school|credit)|in class|"
    r"due (?:today|tonight|tomorrow|on|at|by|in|next|this|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|\d)|"
    r"for (?:my|the|our|this) (?:\w+ ){0,3}?(?:class|course|module|unit|teacher|professor|"
    r"prof|instructor|seminar|assignment|homework|coursework|exam|test|quiz|midterm|final|"
    r"portfolio|project|paper|essay|report|worksheet|grade)|"
    r"(?:my|the) (?:teacher|professor|prof|instructor) (?:wants|assigned|asked|set|needs)|"
    r"assigned|submit|submission|hand (?:it |this |them )?in|turn (?:it |this |them )?in)\b")

# The student will hand in what the assistant produces.
_HAND_OVER = re.compile(
    r"\b(?:(?:so (?:that )?|that |which |and )?i (?:can|could|will|'ll|am going to|'m going "
    r"to|am gonna|'m gonna|gonna|plan to|want to|need to|just need to|have to)|i'll|"
    r"for me to|ready to)\s+(?:just |then |directly |simply |quickly |immediately )?"
    r"(?:submit|hand (?:it |this |them |that )?in|turn (?:it |this |them |that )?in|"
    r"paste (?:it |this |them |that )?(?:in|into|straight)\b|paste (?:it|this|them|that)|"
    r"copy (?:it|this|them|that)\b|put (?:it|this|them|my name)|use (?:it|this|them|that) "
    r"(?:for|as|in) (?:my|the)|pass (?:it|this|them) off|present (?:it|this) as)"
    r"|\b(?:i'm|i am) (?:submitting|handing in|turning in|pasting|copying) (?:whatever|what|"
    r"it|this|them|that)"
    r"|\bwhatever you (?:send|write|give|produce|come up with)"
    r"|\b(?:as|under) (?:my own|mine|my name)\b"
    r"|\bfor (?:submission|me to submit|me to hand in|me to turn in)\b"
    r"|\b(?:ready to (?:submit|hand in|turn in)|hand[ -]in[ -]ready|submission-ready|ready for "
    r"submission)\b"
    r"|\bwritten out in full\b|\bin full so\b|\b(?:write|type|spell) (?:it |this |them |"
    r"everything )?all out\b|\bword for word\b")

# Answers to a graded assessment ("just give me the answers to the chem midterm").
_ANSWERS = re.compile(
    rf"\b(?P<own>my |our )?(?:the |all the |all |any |some )?(?:final |correct |right )?"
    rf"(?:answers?|ans|solutions?|responses?) (?:to|for|on|of|in) (?:\S+ ){{0,6}}?"
    rf"{_ASSESS_RE}\b"
    rf"|\b(?:answer key|answer sheet|solution manual|solutions manual|mark scheme|"
    rf"marking scheme)\b"
    rf"|\bjust (?:the |give me the )(?:final )?answers?\b"
    rf"|\b(?:give|tell|send|show) me (?:just |only )?(?:all )?the (?:final |correct |right )?"
    rf"answers (?:to|for) (?:these|all|each|every|questions|problems|numbers|#|\d)")
_ANSWER_EXCUSE = re.compile(
    r"\b(?:practice|ungraded|sample|mock|example|explain|why|understand|hint|without|check|"
    r"marked|wrong|review|went over|already (?:took|graded|submitted)|after (?:the|my) "
    r"(?:quiz|test|exam)|how (?:do|did|to)|compare)\b")
_ANSWERS_STRONG = re.compile(r"\bjust (?:give me |tell me |the )|\bonly the (?:final )?answer|"
                             r"\bdon'?t explain|\bno (?:explanation|work)")

# Getting past plagiarism / AI detection, or passing work off as the student's own.
_EVASION = re.compile(
    r"\b(?:pass|passes|avoid|beat|bypass|fool|trick|get past|evade|dodge|slip past|escape)\w*"
    r"\b[^.?!]{0,40}\b(?:plagiarism (?:check|checker|detector|software|scan|tool)|turnitin|"
    r"ai[- ]detect\w*|detectors?|checkers?|gptzero|zerogpt|originality)"
    r"|\b(?:checker|detector|turnitin|gptzero|teacher|professor|prof|instructor|school)\b"
    r"[^.?!]{0,25}\b(?:won'?t|wont|doesn'?t|can'?t|cannot|will not|does not|never) "
    r"(?:catch|flag|detect|know|notice|find out|tell|see|realise|realize|spot|recognize|"
    r"recognise|pick up)"
    r"|\bundetectable\b|\bun-?detect|\bhumani[sz]e\b"
    r"|\b(?:so (?:it |this )?|make it |won'?t |doesn'?t |not |don'?t )(?:sound|look|read|seem)s? "
    r"(?:like )?(?:it was )?(?:ai|chatgpt|a bot|copied|plagiari[sz]ed|machine|generated)"
    r"|\b(?:sound|look|read)s? like (?:i|me|a student|a human|a \w+ grader|a teenager|"
    r"a kid|a real student) (?:wrote|write|did|made)"
    r"|\bshow up as (?:plagiari[sz]ed|copied|ai)\b|\b(?:not|never) (?:get )?(?:flagged|caught)\b"
    r"|\bso (?:it |this )?(?:looks|seems|reads) (?:original|like my own|like mine)"
    r"|\b(?:passes|pass) (?:as|for) (?:my own|original|mine)")

# Asking during a live assessment: "my midterm is online right now. What is the answer to...".
_LIVE_ASSESSMENT = re.compile(
    r"\b(?:(?:taking|doing|in|sitting|writing) (?:the|my|an?|this) (?:online |live |timed )?"
    r"(?:quiz|test|exam|midterm|final)|(?:quiz|test|exam|midterm|final) (?:is|ends|closes) "
    r"(?:online |open |live )?)(?:right now|now|at the moment|currently|in \d+ min)")
_ASKS_ANSWER = re.compile(r"\banswers?\b|\?|\b(?:which|what) (?:is|are|one)\b")

# Someone else sitting in for the student.
_PROXY = re.compile(
    r"\bpretend (?:you are|you're|to be|ur|your) me\b|\b(?:be|act as|become) me\b"
    r"|\b(?:be|act as|become) my ghost-?writer\b"
    r"|\blog ?in (?:as me|to my|with my)[^.?!]{0,40}\b(?:take|do|submit|finish|complete)\b"
    r"|\bi'll give you my (?:login|password|account)")

# Explicit feedback / explanation asks (excuse only the weak "edit" verbs).
_FEEDBACK = re.compile(
    r"\b(?:feedback|suggest\w*|point out|tell me (?:what|where|which|how|if|whether|why)|"
    r"explain|hints?|tips?|advice|comments?|critique|review|check|grade|score|rate|"
    r"assess|evaluate|what(?:'s| is) wrong|myself|on my own|by myself|"
    r"mark (?:up|my)|highlight|show me (?:where|which|what|how)|ideas)\b")

# Producing a stated amount of text: "write 800 words on...", "a 3-page paper".
_AMOUNT = re.compile(r"^(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|a few|"
                     r"several)(?:-| )?(?:word|words|page|pages|paragraph|paragraphs|"
                     r"sentences|lines|slides|stanzas)$")
# "I need my essay written / done / finished by tonight"
_PARTICIPLES = frozenset({"done", "written", "finished", "completed", "solved", "rewritten",
                          "redone", "drafted", "composed", "answered", "typed", "filled",
                          "paraphrased", "reworded", "translated"})
# "Do my answers look right?" is a question, not "do my answers".
_QUESTION_VERBS = frozenset({"look", "seem", "sound", "need", "have", "make", "follow", "count",
                             "meet", "fit", "flow", "match", "read", "work", "go", "answer",
                             "cover", "include", "use", "show", "support"})

# --------------------------------------------------------------------------------------------
# Normalisation and typo tolerance
# --------------------------------------------------------------------------------------------

_CHAT = {
    "u": "you", "ur": "your", "r": "are", "ya": "you", "pls": "please", "plz": "please",
    "plss": "please", "pleas": "please", "tmrw": "tomorrow", "tmr": "tomorrow",
    "tmrow": "tomorrow", "tomoz": "tomorrow", "2moro": "tomorrow", "2morrow": "tomorrow",
    "hw": "homework", "hwk": "homework", "im": "i'm", "ive": "i've", "dont": "don't",
    "cant": "can't", "wont": "won't", "didnt": "didn't", "doesnt": "doesn't", "isnt": "isn't",
    "gimme": "give me", "wanna": "want to", "gonna": "going to", "gotta": "got to",
    "cuz": "because", "bc": "because", "abt": "about", "b4": "before", "thx": "thanks",
    "assignmnt": "assignment", "essy": "essay", "ppr": "paper", "pg": "page", "pgs": "pages",
    "quizz": "quiz", "exm": "exam", "ans": "answers", "w": "with", "n": "and",
    "writ": "write",   # a real word, but in a request far more often a typo
}
# Multi-word terms read as one token: phrasal verbs joined with "_", compound nouns with "-".
_PHRASAL_VERBS = re.compile(
    r"\b(?:fill (?:in|out)|type (?:up|out)|come up with|put together|whip up|knock out|"
    r"churn out|crank out|bang out|work out|figure out|wrap up|fix up|clean up|touch up|"
    r"spruce up|respond to|take care of|deal with|write down|jot down|note down)\b")
_COMPOUND_NOUNS = re.compile(
    r"\b(?:problem sets?|take home|term papers?|book reports?|lab reports?|homework sheets?|"
    r"study guides?|word count|body paragraphs?|thesis statements?|topic sentences?|"
    r"essay questions?|question bank|reading logs?|lab notebooks?|case stud(?:y|ies)|"
    r"literature reviews?|research papers?|research proposals?|word problems?|font size)\b")
_TOKEN = re.compile(r"(?:[^\W_]|\+)+(?:[-_'](?:[^\W_]|\+)+)*|[^\s\w]")

# Key words read through one typo. Only words of five letters or more: shorter ones have too
# many real neighbours.
_TYPO_TARGETS = (
    "essay", "essays", "homework", "assignment", "assignments", "worksheet", "paper", "papers",
    "report", "project", "coursework", "paragraph", "paragraphs", "conclusion", "introduction",
    "midterm", "answers", "answer", "submission", "research", "write", "writing", "rewrite",
    "finish", "complete", "solve", "submit", "paraphrase", "rephrase", "translate", "discussion",
    "tomorrow", "please", "problems", "questions", "because",
)
# Real English words one edit from a key word, which must never be "corrected". Derived from
# pyspellchecker's English frequency list: every word with frequency >= 150 that is one edit from
# a target and not otherwise in the vocabulary. tests/test_integrity.py checks it is complete.
_REAL_NEIGHBOURS = frozenset({
    "assay", "caper", "capers", "compete", "completed", "completes", "deport", "finnish",
    "introductions", "lease", "midterms", "pager", "pagers", "paler", "pamper", "pampers",
    "pauper", "paupers", "payer", "payers", "piper", "pipers", "pleas", "pleased", "pleases",
    "projects", "protect", "reports", "resort", "retort", "rewrote", "rite", "salve", "sole",
    "solved", "solves", "submits", "summit", "taper", "tapers", "tomorrows", "translated",
    "translates", "trite", "waiting", "white", "whiting", "writ", "writer", "writes",
    "writhe", "writhing", "writings", "writs", "wrote",
})


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _build_typo_index(targets: Iterable[str]) -> dict[str, frozenset[str]]:
    """Symmetric-delete index: a target and each one-letter deletion of it -> the targets."""
    index: dict[str, set[str]] = {}
    for target in targets:
        for key in {target} | _deletions(target):
            index.setdefault(key, set()).add(target)
    return {key: frozenset(v) for key, v in index.items()}


_TYPO_INDEX = _build_typo_index(_TYPO_TARGETS)
_KNOWN = (frozenset(_TYPO_TARGETS) | _REAL_NEIGHBOURS | frozenset(_VERBS) | _GRADED_DOCS
          | _PARTS | _PIECES | _PROBLEMS | _AIDS | frozenset(_CHAT.values()))


def _one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance between ``a`` and ``b`` is exactly one."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [k for k in range(len(a)) if a[k] != b[k]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:k] + long_[k + 1:] == short for k in range(len(long_)))


def _typo_candidates(token: str) -> set[str]:
    """Key words within one edit of ``token``: a letter missing ("esay"), one extra ("essayy"),
    or one substituted or two swapped ("wrtie"), found through the deletion index."""
    found = set(_TYPO_INDEX.get(token, ()))
    for d in _deletions(token):
        found.update(_TYPO_INDEX.get(d, ()))
    return {w for w in found if _one_edit(token, w)}


def typo_correct(token: str) -> str:
    """``token`` read as the key word one edit away from it, or unchanged (known words, real
    English neighbours of key words, short tokens and tokens with digits are never changed)."""
    if not 4 <= len(token) <= 14 or token in _KNOWN or not token.isalpha():
        return token
    found = _typo_candidates(token)
    if not found:
        return token
    return min(found, key=lambda w: (abs(len(w) - len(token)), w))


def _tokens(utterance: str) -> list[str]:
    text = utterance.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2014", " - ")
    raw = _TOKEN.findall(text)
    out: list[str] = []
    for tok in raw:
        if tok.endswith("'s") and len(tok) > 2:
            out.extend((tok[:-2], "'s"))
            continue
        tok = _CHAT.get(tok, tok)
        if " " in tok:
            out.extend(tok.split())
            continue
        out.append(typo_correct(tok))
    text = _PHRASAL_VERBS.sub(lambda m: m.group(0).replace(" ", "_"), " ".join(out))
    text = _COMPOUND_NOUNS.sub(lambda m: m.group(0).replace(" ", "-"), text)
    return text.split()

# --------------------------------------------------------------------------------------------
# Step 2: production requests (verb + object)
# --------------------------------------------------------------------------------------------


def _is_verb(tokens: list[str], i: int) -> bool:
    tok = tokens[i]
    prev = tokens[i - 1] if i else ""
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if prev in _DETERMINERS or prev in {"of", "in", "on", "with", "about", "an", "the"}:
        return False
    if tok in {"do", "doing"} and nxt in {"you", "i", "we", "they", "not", "he", "she", "u",
                                          "people", "students", "teachers"}:
        return False                                       # auxiliary: "do you think..."
    if tok in _AMBIGUOUS and prev and prev not in _VERB_LEAD and prev not in _CLAUSE_BREAK:
        return False
    return True


def _requested(tokens: list[str], i: int) -> bool:
    """Is the verb at ``i`` something the student asks the assistant to do?"""
    gerund = tokens[i].endswith("ing")
    if tokens[i] in {"get", "have"} and i >= 2 and tokens[i - 1] == "i" and tokens[i - 2] in {
            "can", "could", "may", "might"}:
        return True                                        # "can I get an essay on ..."
    for j in range(i - 1, max(-1, i - 8), -1):
        tok = tokens[j]
        if tok in _NEGATION:
            return False
        if tok in _HOW_TO:
            return False
        if tok in _PERMISSION:
            return False
        if tok in _DOER_ASSISTANT:
            return True
        if gerund and tok in _GERUND_REQUEST:
            return True
        if tok == "me":
            before = tokens[j - 1] if j else ""
            if before in {"help", "for", "please"}:
                continue                                   # "help me finish" is the assistant
            return False                                   # "let me / told me to write"
        if tok in _DOER_STUDENT or tok in _DOER_OTHER:
            return False
        if tok in _CLAUSE_BREAK:
            break
    return not gerund                                      # imperative; bare gerunds are nouns


def _noun_phrase(tokens: list[str], i: int) -> tuple[list[str], list[str]]:
    """The object noun phrase after the verb at ``i`` and the rest of its clause."""
    head: list[str] = []
    j = i + 1
    n = len(tokens)
    while j < n and tokens[j] in _SKIP_INDIRECT and not head:
        j += 1
    while j < n:
        tok = tokens[j]
        if tok in {".", ";", "!", "?", ":", "(", ")", "\"", ",", "-"}:
            break
        if tok == "and":
            nxt = tokens[j + 1] if j + 1 < n else ""
            after = tokens[j + 2] if j + 2 < n else ""
            if _kind(nxt) or (nxt in _DETERMINERS and _kind(after)):
                head.append(tok)
                j += 1
                continue
            break
        if tok == "of" and not any(_kind(t) for t in head):
            head.append(tok)                               # "the rest of my story"
            j += 1
            continue
        if tok in _PREPOSITIONS and head:
            break
        if tok in _VERBS and head and _VERBS[tok] != "need" and tok not in _AMBIGUOUS:
            break
        head.append(tok)
        j += 1
        if len(head) >= 9:
            break
    tail: list[str] = []
    while j < n and tokens[j] not in {".", ";", "!", "?"} and len(tail) < 14:
        tail.append(tokens[j])
        j += 1
    return head, tail


def _kind(tok: str) -> str:
    if tok in _AIDS:
        return "aid"
    if tok in _GRADED_DOCS:
        return "doc"
    if tok in _ASSESSMENTS:
        return "assessment"
    if tok in _PARTS:
        return "part"
    if tok in _PROBLEMS:
        return "problem"
    if tok in _PIECES:
        return "piece"
    return ""


def _names_work(tokens: list[str], graded: bool, skip: str = "") -> bool:
    """Does the utterance mention a piece of graded work (other than the word ``skip``)?"""
    named = {_kind(t) for t in tokens if t != skip}
    return bool(named & {"doc", "assessment"} or (graded and named & {"part", "piece"}))


def _gives_work(verb: str, head: list[str], tail: list[str], tokens: list[str],
                graded: bool) -> bool:
    """Object of a hand-over verb: "give me a finished essay", "send me the full text"."""
    kinds = [(t, _kind(t)) for t in head if _kind(t)]
    finished = set(head) & _FINISHED
    word, kind = kinds[-1] if kinds else ("", "")
    if kind == "aid" or set(head) & _UNGRADED - {"model"}:
        return False
    if not kinds or word in _VERSIONS:
        # "the full text / final version / completed copy": work when the utterance names it
        if not (finished and set(head) & (_VERSIONS | {"it"})):
            return False
        of_mine = tail[:1] == ["of"] and bool(set(tail[1:3]) & _POSSESSIVE) and any(
            _kind(t) in {"doc", "part", "piece"} for t in tail[2:6])
        return of_mine or _names_work(tokens, graded, skip=word)
    if verb == "show":
        finished -= {"completed"}  # "show me the completed assignments" is a status question
    mods = set(head) - {word}
    if kind == "doc":              # "give me an essay", "the finished essay"; not "my essay"
        return bool(finished) or bool(mods & {"a", "an", "one", "some"})
    if kind in {"part", "piece"}:  # "the finished conclusion paragraph for my essay"
        tail_work = any(_kind(t) in {"doc", "assessment"} for t in tail[:10])
        return bool(finished) and (kind == "part" or bool(mods & _POSSESSIVE) or graded
                                   or tail_work)
    return False                   # assessments and problems: see the answers cue


def _object_is_work(verb: str, cls: str, head: list[str], tail: list[str],
                    tokens: list[str], graded: bool) -> bool:
    """Does the noun phrase ``head`` (object of a verb of class ``cls``) name graded work?"""
    if cls == "need" and head and head[0] == "to":
        return False                                       # "I need to write ...": the student
    if any(_AMOUNT.match(" ".join(head[k:k + 2])) for k in range(len(head))):
        return cls in {"write", "need", "give", "finish"}  # "write 800 words on ..."
    if cls == "give":
        return _gives_work(verb, head, tail, tokens, graded)
    kinds = [(t, _kind(t)) for t in head if _kind(t)]
    if not kinds:
        # "write it for me", "take it for me", "the whole thing": work if the utterance names it
        if not head or cls in {"need", "edit"}:
            return False
        if head[:3] in (["the", "whole", "thing"], ["the", "entire", "thing"]):
            return cls in {"write", "finish", "rewrite", "answer"}
        return head[0] in _ANAPHORA and _names_work(tokens, graded)
    word, kind = kinds[-1]
    mods = set(head) - {word}
    if kind == "aid":
        return False
    at = len(head) - 1 - head[::-1].index(word)
    if head[at + 1:at + 2] == ["'s"]:
        return False                                       # "my essay's flow": not the work
    if cls == "need":
        # "I need my essay written by tonight", "I need a 600-word essay"
        if _PARTICIPLES & set(head + tail[:4]):
            return True
        return kind == "doc" and bool(mods & {"a", "an", "one", "some"})
    owned = bool(mods & _POSSESSIVE)
    tail_work = any(_kind(t) in {"doc", "assessment"} for t in tail[:10])
    if kind == "doc":
        if cls == "take":
            return word in _ASSESSMENTS                    # "take my take-home"
        if mods & _OTHERS and not owned:
            return False                                   # "do your homework" (quoted advice)
        return not mods & _SOFT_FOR_DOCS
    if mods & _UNGRADED:
        return False                                       # "a practice quiz", "an example intro"
    if kind == "assessment":
        # answered, finished or taken; *writing* one is making a practice aid, unless it is
        # the student's own ("write my take-home exam")
        return cls in {"answer", "finish", "take"} or (cls in {"write", "rewrite"} and owned)
    if cls == "take":
        return False
    if kind == "problem":
        # "questions 1-8 on my worksheet", not "answer my question about photosynthesis"
        return cls in _ANSWERING and (graded or tail_work
                                      or any(_kind(t) in {"doc", "assessment"} for t in head))
    # parts and pieces: the student's own, a part of this document, or for graded work
    if word in {"answer", "answers", "solution", "solutions"} and not (graded or tail_work):
        return False
    this_part = kind == "part" and bool(mods & _DEMONSTRATIVE)
    return owned or this_part or tail_work or graded


def _production_requests(tokens: list[str], graded: bool) -> list[tuple[str, str]]:
    """(verb, class) for each verb that asks the assistant to produce graded work."""
    found = []
    for i, tok in enumerate(tokens):
        cls = _VERBS.get(tok)
        if cls is None or not _is_verb(tokens, i):
            continue
        if cls == "need":
            prev = tokens[i - 1] if i else ""
            if tok == "like" and prev not in {"i'd", "would", "'d"}:
                continue
            if prev in {"do", "does", "did", "don't", "doesn't"} or (
                    i > 1 and tokens[i - 2] in {"do", "does", "did"}):
                continue                                   # "do I need a bibliography?"
        elif not _requested(tokens, i):
            continue
        head, tail = _noun_phrase(tokens, i)
        if tok == "do" and set(head) & _QUESTION_VERBS:
            continue                                       # "do my answers look right?"
        if _object_is_work(tok, cls, head, tail, tokens, graded):
            found.append((tok, cls))
    return found


# "Turn my notes into an essay", "expand my bullet points into the full report".
_TRANSFORM_VERBS = frozenset({"turn", "expand", "convert", "develop", "flesh", "make",
                              "summarize", "summarise", "spin", "transform", "change", "build",
                              "rework", "grow", "shape", "put", "write", "rewrite", "translate"})


def _transform_request(tokens: list[str]) -> bool:
    """A requested "<verb> X into <graded work>" (not "turn my notes into flashcards")."""
    for k, tok in enumerate(tokens):
        if tok != "into":
            continue
        for i in range(k - 1, max(-1, k - 9), -1):
            if tokens[i] in _CLAUSE_BREAK - {"and"}:
                break
            if tokens[i] in _TRANSFORM_VERBS and _requested(tokens, i):
                head, _ = _noun_phrase(tokens, k)
                kinds = [_kind(t) for t in head if _kind(t)]
                if (kinds and kinds[-1] in {"doc", "part", "piece"}
                        and not set(head) & (_SOFT_FOR_DOCS | {"example", "generic"})):
                    return True
                break
    return False


# --------------------------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------------------------


def _bare_commission(tokens: list[str]) -> bool:
    """An order with no verb: "essay on macbeth. 800 words. due tmrw" (a graded document
    on a topic plus an amount of text, and no question)."""
    start = 1 if tokens[0] in {"a", "an", "one"} else 0
    if "?" in tokens or len(tokens) < start + 3 or _kind(tokens[start]) != "doc":
        return False
    if tokens[start + 1] not in {"on", "about", "for", "regarding", ",", ":", "-"}:
        return False
    return any(_AMOUNT.match(" ".join(tokens[k:k + 2])) for k in range(len(tokens)))


_ADDRESSED = re.compile(r"\b(?:you|u|for me|please|pls|i can|i'll|i will)\b", re.IGNORECASE)


def _request_part(utterance: str) -> str:
    """Pasted material is data: of "feedback on my essay: <essay text>" only the request before
    the colon is read, plus a last sentence addressed to the assistant ("... Now fix it for
    me."), so advice inside the essay ("finish the assignment first") is not read as an ask."""
    head, colon, body = utterance.partition(":")
    if not colon or len(body.split()) < 25 or not _FEEDBACK.search(head.lower()):
        return utterance
    last = re.split(r"(?<=[.!?])\s+", body.strip())[-1]
    return f"{head}. {last}" if _ADDRESSED.search(last) else head


def integrity_reason(utterance: str) -> str | None:
    """Why ``utterance`` asks for graded work to be done for the student, or None if it does not.

    The reason names the rule: ``answers``, ``evasion``, ``proxy``, ``transform``,
    ``hand-over`` or ``<class>:<verb>`` for a production request (``write:write``,
    ``finish:complete``, ``edit:improve``...).
    """
    tokens = _tokens(_request_part(utterance))
    if not tokens:
        return None
    text = " ".join(tokens)
    if _EVASION.search(text):
        return "evasion"
    if _PROXY.search(text):
        return "proxy"
    if _LIVE_ASSESSMENT.search(text) and _ASKS_ANSWER.search(text):
        return "answers"
    for m in _ANSWERS.finditer(text):
        if m.group("own") and "just" not in text:
            continue                                       # the student's own answers
        if set(text[max(0, m.start() - 25):m.start()].split()) & _NEGATION:
            continue                                       # "don't just give me the answer"
        if _ANSWER_EXCUSE.search(text) and not _ANSWERS_STRONG.search(text):
            continue                                       # practice, or asking why
        return "answers"
    graded = bool(_GRADED_CONTEXT.search(text))
    requests = _production_requests(tokens, graded)
    hand_over = bool(_HAND_OVER.search(text))
    if hand_over:
        # any ask to produce or change text (not a study aid), once the student says the
        # result will be handed in: "answer this so I can submit it"
        for i, tok in enumerate(tokens):
            cls = _VERBS.get(tok)
            if (cls in {"write", "rewrite", "finish", "answer", "edit", "give"}
                    and _is_verb(tokens, i) and _requested(tokens, i)):
                head, _ = _noun_phrase(tokens, i)
                kinds = [_kind(t) for t in head if _kind(t)]
                if not (kinds and kinds[-1] == "aid") and not set(head) & _UNGRADED:
                    return "hand-over"
    if _transform_request(tokens):
        return "transform"
    if _bare_commission(tokens):
        return "write:(no verb)"
    strong = [r for r in requests if r[1] != "edit"]
    if strong:
        verb, cls = strong[0]
        return f"{cls}:{verb}"
    if requests and not _FEEDBACK.search(text):
        verb, cls = requests[0]
        return f"{cls}:{verb}"
    return None


def integrity_explanation(utterance: str) -> str | None:
    """Why the policy refuses ``utterance`` (both stages), or None if it does not.

    The rule's name (:func:`integrity_reason`) when the rules refuse; otherwise
    ``learned:<probability>`` when the learned stage (:mod:`lamworks_education.integrity_model`)
    refuses (a school request whose probability reaches the threshold). When the learned stage
    is unavailable, the rules decide alone.
    """
    reason = integrity_reason(utterance)
    if reason is not None:
        return reason
    from .integrity_model import learned_stage

    stage = learned_stage()
    probability = None if stage is None else stage.refusal(utterance)
    return None if probability is None else f"learned:{probability:.2f}"


def integrity_violation(utterance: str) -> bool:
    """True when ``utterance`` asks for graded work to be done for the student: the rules
    refuse it, or the learned stage does (:func:`integrity_explanation`)."""
    return integrity_explanation(utterance) is not None
