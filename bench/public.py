"""The planner on public data: Schema-Guided Dialogue and CLINC150, three routers in one run.

Routers, measured side by side in the same process on the same embeddings:

- ``v2``: the current planner (``lamworks.planner.NeuroSymbolicPlanner``), as it comes (its own
  calibration);
- ``v1``: the previous planner, rebuilt from git history by ``bench/baseline.py`` (its own
  calibration);
- ``knn``: the nearest tool example (cosine on the same MiniLM embeddings), with a no-tool
  threshold.

Nothing is tuned here for v1 or v2. Both plan through ``bench/planner.py``'s ``Harness`` on a
runtime with no plugin loaded (the public tools belong to no plugin: no request-stage policy,
no domain slot extractor). A planner exception is recorded as a wrong turn, counted, and the
dialogue goes on.

SGD protocol (``--sgd DIR``; the data's README: leave-one-service-out)
-----------------------------------------------------------------------
Tools. Each intent of each service becomes ``tool_from_schema(intent_snake, description,
schema, examples=...)`` namespaced by the service in lower case
(``restaurants_2.reserve_restaurant``).
Properties are the intent's required and optional slots, all ``"type": "string"``, with the
slot's description, ``enum`` = possible values for categorical slots, and an optional slot's
default value as ``default``; ``required`` = required slots, in the schema's order. A
transactional intent (``is_transactional``: it books, buys, pays) is a ``risk="write"`` tool,
as lamworks' own booking tools are; the others read. A service in both schemas takes the dev
schema.

Examples. At most 10 per intent: for each dialogue of the service, in dialogue-id order, the
user turn where the intent first becomes active (its INFORM_INTENT act); the first 10 distinct
texts. From TRAIN dialogues; a service that exists only in dev takes them from dev dialogues.
Every dialogue an example came from is excluded from every evaluation set, so no example is
ever evaluated.

Evaluation dialogues per service: its dev dialogues; for a train-only service, up to 100 of its
train dialogues (ordered by SHA-256 of the dialogue id), marked ``"eval_split": "train"``.
Settings: (a) only that service's tools loaded, single-service dialogues only; (b) the tools of
all services loaded (one shared tool set), all its dialogues, multi-service ones included. In
(b) a dialogue is planned once; its user turns count for each service whose frame they carry
and whose evaluation set holds the dialogue. SGD's "today" is Friday 2019-03-01 (every "today"
in the data has that canonical value), so dialogues are planned with that clock.

Each dialogue is planned turn by turn with one ``DialogState``; the planner never sees system
turns. What a system turn shows stands in for a tool's result on the person's screen
(``DialogState.offered``): a turn that OFFERs replaces it, one that only INFORMs or CONFIRMs adds
to it (the runtime keeps a result's values until the next result); a turn that offers the next
action (OFFER_INTENT) sets ``DialogState.suggested`` to that intent's tool, as the runtime does
under a result whose tool declares ``offers=``. A complete write step waits for the person's
yes, as in the runtime (:meth:`lamworks.Runtime.handle`): the next user turn, if a bare "yes"
or "no" (``planning.reply_to_confirmation``), is the button and reaches no planner ("no" leaves
no step); "Yes, correct. What is the address?" (``planning.yes_then``) confirms, then only the
question is planned; any other turn is planned with the waiting step as
``PlanningContext.superseded``. Per user turn (and frame):

- intent accuracy, on turns with an INFORM_INTENT act: the planner's tool for the turn (the
  step's tool, or the tool of the question it asks) equals the frame's active intent's tool. In
  (b) ``intent_sibling`` also accepts the same intent of another version of the service (SGD
  has Hotels_1..4; their tools are near-duplicates in one shared set).
- no-tool: a turn whose acts are all THANK_YOU / GOODBYE / NEGATE / NEGATE_INTENT with no slot,
  and that thanks or says goodbye or answers the system's REQ_MORE / OFFER_INTENT, expects no
  tool (a plain reply: no step, no question). Recall over those turns; precision counts the
  request turns (INFORM_INTENT, AFFIRM_INTENT, or INFORM with a value) answered with no tool.
- slot F1: expected = the INFORM values the user states in that turn (``dontcare`` left out: a
  string schema cannot say "any"); predicted = the planner's arguments for the turn that are new
  or changed since its previous tool-bearing turn (an argument equal to the schema default
  and not expected is neither), counted only when the turn's tool is the frame's active
  intent's tool. A value matches as in ``bench/planner.py`` (``norm``/``compare_slots``, the
  words it came from included) against either the surface value or SGD's canonical one
  ("half past 11 in the morning" / "11:30"). ``slot_f1_right_tool``: only turns with the
  right tool.
- final call: the last system ``service_call`` of the service in the dialogue. Success when
  the planner's last complete step planned (or confirmed, and not cancelled since) up to the
  user turn that led to that call has the
  call's tool, and every parameter whose value the user stated (an INFORM of that slot with
  that canonical value, in a user turn before the call; values only the system offered do not
  count) equals the planner's argument (canonical or surface form).
- latency: wall clock per planned turn on the first ``--timed-dialogs`` dialogues of each
  service and setting, with real embeddings, next to the floor (one bare
  ``embedder.encode([text])`` of the same utterance in the same run). Every other turn reads
  query embeddings from the disk cache, which changes nothing but time.

kNN: for every user turn, the nearest example of the loaded tools (a tool without examples is
represented by its description). Its threshold is chosen leave-one-service-out: for each
service, on the pooled turns of all OTHER services in the same setting, maximising (intent
accuracy + no-tool recall) / 2, as ``bench/planner.py --calibrate`` balances them. kNN has no
dialogue state and no slots: intent and no-tool figures only.

Reported per service and as the median over services, per router and setting.

CLINC150 protocol (``--clinc DIR``)
-----------------------------------
150 tools ``clinc.<intent>``, no arguments, description = the intent's name in words, examples
= the first 10 ``train`` texts of the intent. v1 and v2 plan each ``val`` + ``oos_val`` utterance
with an empty ``DialogState`` (their own calibration); ``oos`` expects no tool. kNN's threshold is
chosen on that same ``val`` + ``oos_val`` (the test split is held out elsewhere), so its figure
is optimistic. In-scope accuracy, out-of-scope recall and precision, latency on every 10th
utterance (real embeddings) next to the floor.

``--limit-dialogs N`` keeps the first N evaluation dialogues of each service in id order (SGD's
files put single-service dialogues first, so a limited run under-represents multi-service
ones); on CLINC it keeps every k-th utterance (about 10 N). ``--analyse N`` runs the planners
instead on N single-service TRAIN dialogues that are in no evaluation set and gave no example,
for error analysis (failure classes; ``--show-failures`` prints the turns on the terminal
only). With ``--clinc``, ``--analyse N`` plans about N ``train`` utterances that are no tool's
example, plus ``oos_train``, and writes ``public-clinc-analysis.json`` (failure classes and the
intent pairs confused most, labels only).

Nothing from the data is written into the repository: the results JSON hold figures, dialogue
ids and failure categories, never utterances. Embeddings are cached on disk outside the tree
(``--cache``; default ``~/.cache/lamworks-bench/public-embeddings.sqlite``).

Usage::

    .venv/bin/python bench/public.py --sgd /work/shared/data/sgd-dev \\
        --clinc /work/shared/data/clinc150-dev [--routers knn,v1,v2] [--services A,B] \\
        [--limit-dialogs N] [--analyse N]

Writes ``bench/results/public-sgd.json`` / ``public-clinc.json`` (``-quick`` when limited).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The public tools belong to no plugin: no domain policies or extractors (set before the
# runtime's plugin manager is made).
os.environ["LAMWORKS_LOAD_PLUGINS"] = ""

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baseline import V1_COMMIT, load_v1  # noqa: E402
from planner import (  # noqa: E402
    REPO,
    RESULTS,
    Harness,
    Suite,
    V1DialogState,
    compare_slots,
    norm,
    outcome_of,
)

from lamworks import (  # noqa: E402
    DialogState,
    Plan,
    Runtime,
    Step,
    Tool,
    load_config,
    tool_from_schema,
)
from lamworks.knowledge.embedder import Embedder, EmbeddingCache, text_hash  # noqa: E402
from lamworks.planning import reply_to_confirmation, yes_then  # noqa: E402

Vector = npt.NDArray[np.float32]
Planned = tuple[str, dict[str, Any], dict[str, str]]
"""A planned step as the scores see it: tool, arguments, the words each came from."""

SGD_TODAY = "2019-03-01T10:00:00"
"""The clock SGD's canonical values assume ("today" is always 2019-03-01 in the data)."""
MAX_EXAMPLES = 10
TRAIN_SAMPLE = 100
CLOSING_ACTS = frozenset({"THANK_YOU", "GOODBYE", "NEGATE", "NEGATE_INTENT"})
REQUEST_ACTS = frozenset({"INFORM_INTENT", "AFFIRM_INTENT"})
THRESHOLDS = [round(0.10 + i / 100, 2) for i in range(86)]
CLINC_TIMED_EVERY = 10
ERROR = "<error>"
ROUTERS = ("knn", "v1", "v2")


# -- embeddings ------------------------------------------------------------------------------------

class BenchEmbedder(Embedder):
    """The real embedder; query vectors go through the disk cache (under their own model key,
    so a query vector is always a single-text encoding) except while :attr:`timed` is set."""

    def __init__(self, cache: EmbeddingCache) -> None:
        super().__init__(None, cache=cache, query_cache_size=0)
        self.timed = False
        self.recording: set[str] | None = None
        """While a set: queries are only collected (answered with a zero vector)."""
        self._memory: dict[str, Vector] = {}
        self._pending: list[tuple[str, Vector]] = []

    @property
    def query_key(self) -> str:
        return f"{self.model_id}#query"

    def embed_query(self, text: str) -> Vector:
        if self.recording is not None:
            self.recording.add(text)
            return np.zeros(self.dimension, dtype=np.float32)
        if self.timed:
            return self.encode([text])[0]
        hit = self._memory.get(text)
        if hit is None:
            digest = text_hash(text)
            assert self.cache is not None
            found = self.cache.get_many(self.query_key, [digest])
            hit = found[digest] if found else self.encode([text])[0]
            if not found:
                self._pending.append((digest, hit))
                if len(self._pending) >= 500:
                    self.flush()
            self._memory[text] = hit
        return hit

    def prefetch(self, texts: Iterable[str]) -> int:
        """Embed the queries not yet cached in batches (the first run's cost on two cores:
        batches are several times faster than one text at a time). How many were new."""
        assert self.cache is not None
        wanted = sorted(set(texts) - set(self._memory))
        digests = {text_hash(t): t for t in wanted}
        known = self.cache.get_many(self.query_key, list(digests))
        missing = [t for d, t in digests.items() if d not in known]
        for i in range(0, len(missing), 256):
            chunk = missing[i:i + 256]
            self.cache.put_many(self.query_key, [(text_hash(t), v) for t, v in
                                                 zip(chunk, self.encode(chunk), strict=True)])
        return len(missing)

    def flush(self) -> None:
        if self._pending and self.cache is not None:
            self.cache.put_many(self.query_key, self._pending)
        self._pending = []


# -- routers ---------------------------------------------------------------------------------------

@dataclass
class TurnResult:
    """What one router did with one user turn."""

    tool: str | None
    arguments: dict[str, Any]
    spans: dict[str, str]
    asks_for: str | None = None
    step: Planned | None = None
    """The last complete step of this turn's plan (tool, arguments, spans), if any."""
    error: str | None = None
    latency: float | None = None
    floor: float | None = None
    score: float = 0.0
    """kNN only: the similarity of the nearest example."""
    settled: str | None = None
    """``"confirmed"`` or ``"cancelled"`` when the turn answered a step awaiting confirmation
    (as the runtime does before planning); ``step`` is then the step confirmed."""


class PlannerRouter:
    """v1 or v2 behind ``bench/planner.py``'s Harness; exceptions become wrong turns."""

    def __init__(self, name: str, harness: Harness, embedder: BenchEmbedder) -> None:
        self.name = name
        self.harness = harness
        self.embedder = embedder

    def turn(self, suite: Suite, record: dict[str, Any], text: str, state: DialogState,
             timed: bool, superseded: Planned | None = None) -> TurnResult:
        floor = None
        if timed:
            start = time.perf_counter()
            self.embedder.encode([text])
            floor = time.perf_counter() - start
        self.embedder.timed = timed
        try:
            replaced = None if superseded is None else \
                Step(id="awaiting", tool=superseded[0], arguments=superseded[1])
            plan, elapsed = self.harness.plan(suite, record, text, state, replaced)
        except Exception as exc:  # the rewrite in progress may crash: a wrong turn, counted
            return TurnResult(ERROR, {}, {}, error=crash_kind(exc), floor=floor)
        finally:
            self.embedder.timed = False
        return result_of(plan, elapsed if timed else None, floor)


def crash_kind(exc: BaseException) -> str:
    """The exception's type and where it was raised (no message: it may quote the data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"


def result_of(plan: Plan, latency: float | None, floor: float | None) -> TurnResult:
    got = outcome_of(plan)
    step = None
    if plan.steps:
        last = plan.steps[-1]
        step = (last.tool, dict(last.arguments), {k: s.text for k, s in last.spans.items()})
    return TurnResult(got.tool, dict(got.arguments), dict(got.spans), got.asks_for, step,
                      latency=latency, floor=floor)


class NearestExample:
    """kNN: the tool of the most similar example (the description when a tool has none)."""

    def __init__(self, embedder: BenchEmbedder, tools: Mapping[str, Tool]) -> None:
        self.names: list[str] = []
        texts: list[str] = []
        for name in sorted(tools):
            for text in tools[name].examples or (tools[name].description,):
                self.names.append(name)
                texts.append(text)
        self.matrix = embedder.embed_documents(texts)

    def scores(self, vectors: Vector) -> list[tuple[str, float]]:
        sims = vectors @ self.matrix.T
        best = sims.argmax(axis=1)
        return [(self.names[int(i)], float(sims[row, i])) for row, i in enumerate(best)]


def time_knn(embedder: BenchEmbedder, knn: NearestExample, text: str) -> float:
    start = time.perf_counter()
    knn.scores(embedder.encode([text]))
    return time.perf_counter() - start


# -- SGD: data -------------------------------------------------------------------------------------

def natural_key(dialogue_id: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", dialogue_id))


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def tool_name(service: str, intent: str) -> str:
    return f"{service.lower()}.{snake(intent)}"


@dataclass
class Dialogue:
    id: str
    split: str
    services: tuple[str, ...]
    turns: list[dict[str, Any]]

    @property
    def key(self) -> str:
        """Unique across splits (train and dev reuse dialogue ids)."""
        return f"{self.split}/{self.id}"

    def user_turns(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for index, turn in enumerate(self.turns):
            if turn["speaker"] == "USER":
                yield index, turn


@dataclass
class SGD:
    schemas: dict[str, dict[str, Any]]
    dialogues: dict[str, list[Dialogue]]  # split -> dialogues in id order


def load_sgd(root: Path) -> SGD:
    schemas: dict[str, dict[str, Any]] = {}
    for split in ("train", "dev"):  # dev last: a service in both takes the dev schema
        for schema in json.loads((root / f"{split}_schema.json").read_text(encoding="utf-8")):
            schemas[schema["service_name"]] = schema
    dialogues: dict[str, list[Dialogue]] = {}
    for split in ("train", "dev"):
        with gzip.open(root / f"{split}_dialogues.jsonl.gz", "rt", encoding="utf-8") as f:
            items = [json.loads(line) for line in f if line.strip()]
        dialogues[split] = sorted(
            (Dialogue(d["dialogue_id"], split, tuple(sorted(d["services"])), d["turns"])
             for d in items), key=lambda d: natural_key(d.id))
    return SGD(schemas, dialogues)


def service_tools(schema: Mapping[str, Any], examples: Mapping[str, list[str]]
                  ) -> dict[str, Tool]:
    slots = {s["name"]: s for s in schema["slots"]}
    tools: dict[str, Tool] = {}
    for intent in schema["intents"]:
        properties: dict[str, Any] = {}
        for name in [*intent["required_slots"], *intent["optional_slots"]]:
            slot = slots[name]
            prop: dict[str, Any] = {"type": "string", "description": slot["description"]}
            if slot["is_categorical"] and slot["possible_values"]:
                prop["enum"] = list(slot["possible_values"])
            if name in intent["optional_slots"]:
                prop["default"] = intent["optional_slots"][name]
            properties[name] = prop
        t = tool_from_schema(snake(intent["name"]), intent["description"],
                             {"type": "object", "required": list(intent["required_slots"]),
                              "properties": properties},
                             examples=examples.get(intent["name"], []),
                             risk="write" if intent["is_transactional"] else "read")
        t = t.namespaced(schema["service_name"].lower())
        tools[t.name] = t
    return tools


def frames_by_service(turn: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["service"]: f for f in turn["frames"]}


def select_examples(dialogues: Sequence[Dialogue], service: str
                    ) -> tuple[dict[str, list[str]], set[str]]:
    """Per intent, the first 10 distinct texts of the user turns where it first became active
    (INFORM_INTENT), in dialogue-id order; and the ids of the dialogues they came from."""
    examples: dict[str, list[str]] = {}
    seen_text: dict[str, set[str]] = {}
    used: set[str] = set()
    for d in dialogues:
        if service not in d.services:
            continue
        started: set[str] = set()
        for _, turn in d.user_turns():
            frame = frames_by_service(turn).get(service)
            if frame is None:
                continue
            for act in frame["actions"]:
                if act["act"] != "INFORM_INTENT" or not act["values"]:
                    continue
                intent = act["values"][0]
                if intent in started:
                    continue
                started.add(intent)
                bucket = examples.setdefault(intent, [])
                key = " ".join(turn["utterance"].lower().split())
                if len(bucket) < MAX_EXAMPLES and key not in seen_text.setdefault(intent, set()):
                    seen_text[intent].add(key)
                    bucket.append(turn["utterance"])
                    used.add(d.id)
    return examples, used


@dataclass
class Setup:
    services: list[str]
    tools: dict[str, dict[str, Tool]]  # service -> its tools
    eval_sets: dict[str, list[Dialogue]]  # service -> evaluation dialogues
    eval_split: dict[str, str]
    example_sources: dict[str, str]
    used: dict[str, set[str]]
    all_tools: dict[str, Tool] = field(default_factory=dict)


def sha_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_setup(data: SGD, only: set[str] | None, limit: int) -> Setup:
    train_services = {s for d in data.dialogues["train"] for s in d.services}
    dev_services = {s for d in data.dialogues["dev"] for s in d.services}
    all_services = sorted(train_services | dev_services)
    tools: dict[str, dict[str, Tool]] = {}
    used: dict[str, set[str]] = {"train": set(), "dev": set()}
    sources: dict[str, str] = {}
    for service in all_services:
        split = "train" if service in train_services else "dev"
        examples, from_dialogues = select_examples(data.dialogues[split], service)
        used[split] |= from_dialogues
        sources[service] = split
        tools[service] = service_tools(data.schemas[service], examples)
    eval_sets: dict[str, list[Dialogue]] = {}
    eval_split: dict[str, str] = {}
    for service in all_services:
        if service in dev_services:
            chosen = [d for d in data.dialogues["dev"]
                      if service in d.services and d.id not in used["dev"]]
            eval_split[service] = "dev"
        else:
            pool = [d for d in data.dialogues["train"]
                    if service in d.services and d.id not in used["train"]]
            chosen = sorted(sorted(pool, key=lambda d: sha_key(d.id))[:TRAIN_SAMPLE],
                            key=lambda d: natural_key(d.id))
            eval_split[service] = "train"
        eval_sets[service] = chosen[:limit] if limit else chosen
    services = [s for s in all_services if only is None or s in only]
    setup = Setup(services, tools, {s: eval_sets[s] for s in services},
                  {s: eval_split[s] for s in services}, sources, used)
    setup.all_tools = {n: t for s in all_services for n, t in tools[s].items()}
    return setup


# -- SGD: what each user turn expects --------------------------------------------------------------

@dataclass
class Expect:
    """One user turn, one frame (service)."""

    service: str
    intent_tool: str | None
    active_tool: str | None
    slots: dict[str, tuple[str, ...]]
    kind: str  # "no_tool", "request" or "other"


def turn_kind(turn: Mapping[str, Any], previous_system: Mapping[str, Any] | None) -> str:
    acts = [a for f in turn["frames"] for a in f["actions"]]
    if any(a["act"] in REQUEST_ACTS for a in acts) or any(
            a["act"] == "INFORM" and a["values"] and a["values"][0] != "dontcare" for a in acts):
        return "request"
    if acts and all(a["act"] in CLOSING_ACTS and not a["slot"] for a in acts):
        system_acts = {a["act"] for f in (previous_system or {}).get("frames", [])
                       for a in f["actions"]}
        if any(a["act"] in ("THANK_YOU", "GOODBYE") for a in acts) or \
                system_acts & {"REQ_MORE", "OFFER_INTENT"}:
            return "no_tool"
    return "other"


def system_offers(turn: dict[str, Any]) -> dict[str, str]:
    """A system turn's OFFER, CONFIRM and INFORM values by slot name (canonical form)."""
    return {a["slot"]: a["canonical_values"][0] for f in turn["frames"] for a in f["actions"]
            if a["act"] in ("OFFER", "CONFIRM", "INFORM") and a["slot"]
            and a["canonical_values"]}


def offered_after(turn: dict[str, Any], before: Mapping[str, Any]) -> dict[str, Any]:
    """What is on the person's screen after a system turn: a turn that OFFERs (a new result)
    replaces what was offered before; one that informs or confirms adds to it."""
    shown = system_offers(turn)
    if any(a["act"] == "OFFER" for f in turn["frames"] for a in f["actions"]):
        return shown
    return {**before, **shown}


def system_suggests(turn: dict[str, Any]) -> str | None:
    """The tool a system turn offers to run next ("Would you like to reserve a table?": SGD's
    OFFER_INTENT), as lamworks' runtime offers a namespace's next action after a result."""
    return next((tool_name(f["service"], a["values"][0]) for f in turn["frames"]
                 for a in f["actions"] if a["act"] == "OFFER_INTENT" and a["values"]), None)


def expectations(d: Dialogue) -> dict[int, list[Expect]]:
    out: dict[int, list[Expect]] = {}
    previous_system: dict[str, Any] | None = None
    for index, turn in enumerate(d.turns):
        if turn["speaker"] != "USER":
            previous_system = turn
            continue
        kind = turn_kind(turn, previous_system)
        items = []
        for frame in turn["frames"]:
            service = frame["service"]
            intent_tool = next((tool_name(service, a["values"][0]) for a in frame["actions"]
                                if a["act"] == "INFORM_INTENT" and a["values"]), None)
            active = frame.get("state", {}).get("active_intent", "NONE")
            slots = {a["slot"]: tuple(dict.fromkeys([*a["values"], *a["canonical_values"]]))
                     for a in frame["actions"]
                     if a["act"] == "INFORM" and a["values"] and a["values"][0] != "dontcare"}
            items.append(Expect(service, intent_tool,
                                tool_name(service, active) if active != "NONE" else None,
                                slots, kind))
        out[index] = items
    return out


@dataclass
class FinalCall:
    service: str
    tool: str
    turn: int  # the system turn that makes the call
    user_stated: dict[str, tuple[str, ...]]


def final_call(d: Dialogue, service: str) -> FinalCall | None:
    call_turn = None
    call: dict[str, Any] | None = None
    for index, turn in enumerate(d.turns):
        if turn["speaker"] != "SYSTEM":
            continue
        frame = frames_by_service(turn).get(service)
        if frame and frame.get("service_call"):
            call_turn, call = index, frame["service_call"]
    if call is None or call_turn is None:
        return None
    stated: dict[str, tuple[str, ...]] = {}
    for index, turn in d.user_turns():
        if index > call_turn:
            break
        frame = frames_by_service(turn).get(service)
        for act in frame["actions"] if frame else []:
            value = call["parameters"].get(act["slot"])
            if act["act"] == "INFORM" and value is not None and value != "dontcare" and \
                    value in act["canonical_values"]:
                stated[act["slot"]] = tuple(dict.fromkeys(
                    [value, *stated.get(act["slot"], ()), *act["values"]]))
    return FinalCall(service, tool_name(service, call["method"]), call_turn, stated)


def choose_variant(variants: Sequence[str], predicted: Any, span: str | None) -> str:
    """The accepted form the prediction matches (surface or canonical), else the first."""
    if predicted is None and span is None:
        return variants[0]
    for v in variants:
        if norm(predicted) == norm(v) or (span is not None and norm(span) == norm(v)):
            return v
    return variants[0]


def slot_counts(expected: Mapping[str, tuple[str, ...]], predicted: Mapping[str, Any],
                spans: Mapping[str, str]) -> tuple[int, int, int]:
    chosen = {k: choose_variant(v, predicted.get(k), spans.get(k)) for k, v in expected.items()}
    return compare_slots(chosen, dict(predicted), dict(spans))


def new_arguments(result: TurnResult, before: TurnResult | None, tool: Tool | None
                  ) -> dict[str, Any]:
    """Arguments new or changed in this turn; values equal to the schema default dropped, and
    values without a span in the person's words (carried over from the conversation or from
    what the system offered: the final call scores those) dropped too."""
    if result.tool is None or result.tool == ERROR:
        return {}
    old = before.arguments if before is not None and before.tool == result.tool else {}
    defaults = {}
    if tool is not None and tool.input_schema:
        defaults = {k: p["default"] for k, p in tool.input_schema.get("properties", {}).items()
                    if "default" in p}
    return {k: v for k, v in result.arguments.items()
            if not k.startswith("__") and not isinstance(v, dict) and k in result.spans
            and (k not in old or old[k] != v)
            and not (k in defaults and norm(defaults[k]) == norm(v))}


# -- SGD: scoring ----------------------------------------------------------------------------------

@dataclass
class Tally:
    intent_turns: int = 0
    intent_ok: int = 0
    intent_sibling_ok: int = 0
    none_tp: int = 0
    none_fn: int = 0
    none_fp: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    rt_tp: int = 0
    rt_fp: int = 0
    rt_fn: int = 0
    finals: int = 0
    finals_ok: int = 0
    errors: int = 0
    turns: int = 0
    dialogues: int = 0
    latencies: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        for name, value in vars(other).items():
            if isinstance(value, int):
                setattr(self, name, getattr(self, name) + value)
        self.latencies += other.latencies
        self.floor += other.floor
        self.failures.update(other.failures)

    def summary(self, slots: bool = True) -> dict[str, Any]:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        def f1(tp: int, fp: int, fn: int) -> float | None:
            return round(2 * tp / (2 * tp + fp + fn), 4) if tp + fp + fn else None

        def pct(xs: list[float], q: float) -> float | None:
            xs = sorted(xs)
            return round(1000 * xs[min(len(xs) - 1, int(q * len(xs)))], 2) if xs else None

        out: dict[str, Any] = {
            "dialogues": self.dialogues, "user_turns": self.turns,
            "intent_turns": self.intent_turns,
            "intent_accuracy": ratio(self.intent_ok, self.intent_turns),
            "intent_sibling": ratio(self.intent_sibling_ok, self.intent_turns),
            "no_tool_turns": self.none_tp + self.none_fn,
            "no_tool_recall": ratio(self.none_tp, self.none_tp + self.none_fn),
            "no_tool_precision": ratio(self.none_tp, self.none_tp + self.none_fp),
        }
        if slots:
            out |= {"slot_f1": f1(self.tp, self.fp, self.fn),
                    "slot_f1_right_tool": f1(self.rt_tp, self.rt_fp, self.rt_fn),
                    "final_calls": self.finals,
                    "final_call_success": ratio(self.finals_ok, self.finals),
                    "errors": self.errors}
        out |= {"latency_p50_ms": pct(self.latencies, 0.5),
                "latency_p95_ms": pct(self.latencies, 0.95),
                "floor_p50_ms": pct(self.floor, 0.5), "floor_p95_ms": pct(self.floor, 0.95),
                "turns_timed": len(self.latencies)}
        if self.failures:
            out["failure_classes"] = dict(sorted(self.failures.items(),
                                                 key=lambda kv: (-kv[1], kv[0])))
        return out


def sibling(predicted: str | None, expected: str) -> bool:
    """Same intent of another version of the same service (hotels_1 vs hotels_4)."""
    if predicted is None or predicted == ERROR:
        return False
    p_service, p_intent = predicted.split(".", 1)
    e_service, e_intent = expected.split(".", 1)
    return p_intent == e_intent and p_service.rsplit("_", 1)[0] == e_service.rsplit("_", 1)[0]


def classify(result: TurnResult, expect: Expect, pending: str | None) -> str | None:
    """A failure class for an intent or no-tool turn (None when right); ``pending`` is the
    tool of the question the planner asked on the turn before, if any."""
    if result.error:
        return f"crash: {result.error}"
    if expect.kind == "no_tool":
        if result.tool is None:
            return None
        return "no-tool turn: taken as the answer to a pending question" if pending \
            else "no-tool turn: routed to a tool"
    want = expect.intent_tool
    if want is None or result.tool == want:
        return None
    if result.tool is None:
        return "intent: no tool (nothing above the threshold)" if not pending \
            else "intent: no tool (pending question dropped)"
    if pending is not None and result.tool == pending:
        return "intent: new request taken as the answer to a pending question"
    if result.tool.split(".")[0] == want.split(".")[0]:
        return "intent: another intent of the same service"
    if sibling(result.tool, want):
        return "intent: the same intent of another version of the service"
    if result.tool.split(".")[0].rsplit("_", 1)[0] == want.split(".")[0].rsplit("_", 1)[0]:
        return "intent: another intent of another version of the service"
    return "intent: another domain's tool"


def score_dialogue(d: Dialogue, results: dict[int, TurnResult], services: Iterable[str],
                   tools: Mapping[str, Tool], tallies: Mapping[str, Tally],
                   slot_failures: bool) -> None:
    expects = expectations(d)
    before: TurnResult | None = None
    pending: str | None = None
    wanted = set(services)
    for index, _ in d.user_turns():
        result = results[index]
        for expect in expects[index]:
            if expect.service not in wanted:
                continue
            t = tallies[expect.service]
            t.turns += 1
            t.errors += result.error is not None
            if result.error:
                t.failures[f"crash: {result.error}"] += 1
            if result.latency is not None:
                t.latencies.append(result.latency)
            if result.floor is not None:
                t.floor.append(result.floor)
            if expect.intent_tool is not None:
                t.intent_turns += 1
                t.intent_ok += result.tool == expect.intent_tool
                t.intent_sibling_ok += result.tool == expect.intent_tool or \
                    sibling(result.tool, expect.intent_tool)
            predicted_none = result.tool is None
            if expect.kind == "no_tool":
                t.none_tp += predicted_none
                t.none_fn += not predicted_none
            elif expect.kind == "request":
                t.none_fp += predicted_none
            failure = classify(result, expect, pending)
            if failure and not result.error:
                t.failures[failure] += 1
            right = expect.active_tool is not None and result.tool == expect.active_tool
            predicted = new_arguments(result, before, tools.get(result.tool or "")) \
                if right else {}
            tp, fp, fn = slot_counts(expect.slots, predicted, result.spans)
            t.tp, t.fp, t.fn = t.tp + tp, t.fp + fp, t.fn + fn
            if right:
                t.rt_tp, t.rt_fp, t.rt_fn = t.rt_tp + tp, t.rt_fp + fp, t.rt_fn + fn
            if slot_failures and (fp or fn):
                for key in sorted(set(expect.slots) | set(predicted)):
                    if key not in predicted:
                        why = "missed" if right else "missed (wrong or no tool)"
                    elif key not in expect.slots:
                        why = "extra"
                    elif slot_counts({key: expect.slots[key]}, predicted, result.spans)[0]:
                        continue
                    else:
                        why = "wrong value"
                    t.failures[f"slot {why}: {slot_kind(key)}"] += 1
        if result.tool is not None and result.tool != ERROR:
            before = result
        pending = result.tool if result.asks_for is not None else None
    latest_step = latest_steps(d, results)
    for service in sorted(wanted & set(d.services)):
        call = final_call(d, service)
        if call is None:
            continue
        t = tallies[service]
        t.finals += 1
        planned = step_before(latest_step, call.turn)
        ok = final_ok(call, planned)
        t.finals_ok += ok
        if slot_failures and not ok:
            t.failures["final call: " + ("no step" if planned is None else "other tool"
                                         if planned[0] != call.tool else "argument wrong or "
                                         "missing")] += 1
    for service in wanted & set(d.services):
        tallies[service].dialogues += 1


def latest_steps(d: Dialogue, results: Mapping[int, TurnResult]) -> dict[int, Planned | None]:
    """By user turn: the last complete step planned (or confirmed) up to it; a step the person
    cancelled is no step."""
    out: dict[int, Planned | None] = {}
    step: Planned | None = None
    for index, _ in d.user_turns():
        result = results[index]
        if result.settled == "cancelled":
            step = None
        elif result.step is not None:
            step = result.step
        out[index] = step
    return out


def step_before(latest: Mapping[int, Planned | None], turn: int) -> Planned | None:
    return latest.get(max((i for i in latest if i < turn), default=-1))


def final_ok(call: FinalCall, planned: Planned | None) -> bool:
    """The final call's tool, and every argument the person stated, as the call has them."""
    return planned is not None and planned[0] == call.tool and all(
        key in planned[1] and slot_counts({key: variants}, {key: planned[1][key]},
                                          planned[2])[0]
        for key, variants in call.user_stated.items())


def slot_kind(slot: str) -> str:
    """A coarse kind of an SGD slot, for failure classes."""
    rules = [("date", "date"), ("time", "time"), ("city", "place"), ("location", "place"),
             ("from", "place"), ("to", "place"), ("destination", "place"), ("origin", "place"),
             ("address", "place"), ("area", "place"), ("number", "count"), ("size", "count"),
             ("passengers", "count"), ("travelers", "count"), ("seats", "count"),
             ("rooms", "count"), ("amount", "amount"), ("name", "name"), ("title", "name"),
             ("artist", "name"), ("album", "name"), ("song", "name"), ("airline", "name"),
             ("genre", "category"), ("type", "category"), ("class", "category"),
             ("category", "category"), ("price", "category")]
    lowered = slot.lower()
    return next((kind for cue, kind in rules if cue in lowered), "other")


# -- SGD: running ----------------------------------------------------------------------------------

def prefetch_queries(router: PlannerRouter, suite: Suite, record: dict[str, Any],
                     conversations: Sequence[Sequence[str]], progress: str) -> None:
    """A dry pass collects the texts the planner embeds (routing on zero vectors), so that a
    first run embeds them in batches; the real pass then finds them cached."""
    start = time.perf_counter()
    router.embedder.recording = set()
    try:
        for texts in conversations:
            state = router.harness.state_type()
            for text in texts:
                try:
                    router.harness.plan(suite, record, text, state)
                except Exception:  # counted in the real pass
                    pass
    finally:
        collected, router.embedder.recording = router.embedder.recording, None
    new = router.embedder.prefetch(collected)
    if new:
        print(f"  {progress}: embedded {new} new query texts in "
              f"{time.perf_counter() - start:.0f}s", flush=True)


def run_planner(router: PlannerRouter, suite: Suite, dialogues: Sequence[Dialogue],
                timed: set[str], progress: str) -> dict[str, dict[int, TurnResult]]:
    out: dict[str, dict[int, TurnResult]] = {}
    record = {"now": SGD_TODAY}
    start = time.perf_counter()
    prefetch_queries(router, suite, record,
                     [[t["utterance"] for _, t in d.user_turns()] for d in dialogues], progress)
    for n, d in enumerate(dialogues):
        state = router.harness.state_type()
        out[d.key] = {}
        waiting: Planned | None = None  # a complete write step the runtime would hold for a yes
        for index, turn in enumerate(d.turns):
            if turn["speaker"] == "SYSTEM":
                # What the assistant put before the person (as a tool's results would in
                # lamworks): the values the system offered or confirmed, by slot name. A turn
                # that OFFERs shows a new result and replaces them; one that only informs or
                # confirms ("the address is ...", "would you like to book it?") adds to them,
                # as the runtime keeps a result's values until the next result.
                state.offered = offered_after(turn, state.offered)
                if hasattr(state, "suggested"):  # what the assistant offered to do next
                    state.suggested = system_suggests(turn)
                continue
            out[d.key][index] = result = answer_or_plan(router, suite, record,
                                                        turn["utterance"], state, waiting,
                                                        d.key in timed)
            waiting = result.step if result.step is not None and result.asks_for is None \
                and result.settled is None and suite.tools[result.step[0]].risk != "read" \
                else None
        if n and n % 200 == 0:
            print(f"  {progress}: {n}/{len(dialogues)} dialogues, "
                  f"{time.perf_counter() - start:.0f}s", flush=True)
    router.embedder.flush()
    return out


def answer_or_plan(router: PlannerRouter, suite: Suite, record: dict[str, Any], text: str,
                   state: DialogState, waiting: Planned | None, timed: bool) -> TurnResult:
    """One user turn as the runtime takes it: with a write step awaiting confirmation, a bare
    "yes" or "no" is the button and reaches no planner; "Yes, correct. What is the address?"
    confirms, then the question is planned (:meth:`lamworks.Runtime.handle`)."""
    if waiting is None:
        return router.turn(suite, record, text, state, timed)
    typed = reply_to_confirmation(text)
    if typed is not None:
        return TurnResult(None, {}, {}, step=waiting if typed == "yes" else None,
                          settled="confirmed" if typed == "yes" else "cancelled")
    question = yes_then(text)
    if question is None:  # anything else replaces the step that was awaiting a yes
        return router.turn(suite, record, text, state, timed, superseded=waiting)
    planned = router.turn(suite, record, question, state, timed)
    return replace(planned, step=waiting, settled="confirmed")


def knn_results(embedder: BenchEmbedder, knn: NearestExample, dialogues: Sequence[Dialogue],
                timed: set[str]) -> dict[str, dict[int, TurnResult]]:
    texts = [(d.key, i, t["utterance"]) for d in dialogues for i, t in d.user_turns()]
    vectors = embedder.embed_documents([t for _, _, t in texts]) if texts else \
        np.zeros((0, 384), np.float32)
    out: dict[str, dict[int, TurnResult]] = {}
    for (key, index, text), (name, score) in zip(texts, knn.scores(vectors),
                                                         strict=True):
        latency = floor = None
        if key in timed:
            start = time.perf_counter()
            embedder.encode([text])
            floor = time.perf_counter() - start
            latency = time_knn(embedder, knn, text)
        out.setdefault(key, {})[index] = TurnResult(name, {}, {}, latency=latency,
                                                            floor=floor, score=score)
    return out


def apply_threshold(raw: dict[str, dict[int, TurnResult]], threshold: float
                    ) -> dict[str, dict[int, TurnResult]]:
    """kNN's raw results decided at a threshold."""
    return {d: {i: TurnResult(r.tool if r.score >= threshold else None, {}, {},
                              latency=r.latency, floor=r.floor, score=r.score)
                for i, r in turns.items()} for d, turns in raw.items()}


def balanced_threshold(intent: Sequence[tuple[bool, float]], none: Sequence[float]) -> float:
    """The threshold maximising (intent accuracy + no-tool recall) / 2, as
    ``bench/planner.py --calibrate`` balances them; the lower one on ties."""
    if not intent or not none:
        return 0.5
    right = np.array([ok for ok, _ in intent])
    scores = np.array([s for _, s in intent])
    none_scores = np.array(none)

    def balanced(t: float) -> float:
        return float((right & (scores >= t)).mean() + (none_scores < t).mean()) / 2

    return max(THRESHOLDS, key=lambda t: (balanced(t), -t))


def knn_threshold(rows: list[tuple[str, str, float, Expect]], held_out: str) -> float:
    """Chosen on the other services' turns only (leave-one-service-out)."""
    return balanced_threshold(
        [(p == e.intent_tool, s) for svc, p, s, e in rows
         if svc != held_out and e.intent_tool is not None],
        [s for svc, _, s, e in rows if svc != held_out and e.kind == "no_tool"])


def timed_ids(sets: Mapping[str, Sequence[Dialogue]], n: int) -> set[str]:
    return {d.key for dialogues in sets.values() for d in dialogues[:n]}


def evaluate_sgd(args: argparse.Namespace, routers: dict[str, PlannerRouter],
                 embedder: BenchEmbedder, runtime: Runtime) -> dict[str, Any]:
    data = load_sgd(Path(args.sgd))
    only = set(args.services.split(",")) if args.services else None
    setup = build_setup(data, only, args.limit_dialogs)
    print(f"SGD: {len(setup.all_tools)} tools from {len(setup.tools)} services; "
          f"{sum(map(len, setup.used.values()))} dialogues gave examples (excluded from "
          f"evaluation); evaluating "
          f"{len(setup.services)} services", flush=True)
    settings: dict[str, dict[str, list[Dialogue]]] = {
        "a": {s: [d for d in setup.eval_sets[s] if d.services == (s,)] for s in setup.services},
        "b": {s: list(setup.eval_sets[s]) for s in setup.services},
    }
    report: dict[str, Any] = {"settings": {}, "services": {
        s: {"eval_split": setup.eval_split[s], "examples_from": setup.example_sources[s],
            "tools": sorted(setup.tools[s]),
            "examples": {n: len(t.examples) for n, t in sorted(setup.tools[s].items())}}
        for s in setup.services}}
    for setting, sets in settings.items():
        report["settings"][setting] = evaluate_setting(args, setting, sets, setup, routers,
                                                       embedder)
    return report


def evaluate_setting(args: argparse.Namespace, setting: str,
                     sets: dict[str, list[Dialogue]], setup: Setup,
                     routers: dict[str, PlannerRouter], embedder: BenchEmbedder
                     ) -> dict[str, Any]:
    timed = timed_ids(sets, args.timed_dialogs)
    union = sorted({d.key: d for ds in sets.values() for d in ds}.values(),
                   key=lambda d: (d.split, natural_key(d.id)))
    members = {s: {d.key for d in ds} for s, ds in sets.items()}
    print(f"setting ({setting}): {len(union)} dialogues, "
          f"{sum(1 for d in union for _ in d.user_turns())} user turns", flush=True)
    out: dict[str, Any] = {}
    for name in args.routers:
        t0 = time.perf_counter()
        tallies = {s: Tally() for s in setup.services}
        if name == "knn":
            rows: list[tuple[str, str, float, Expect]] = []
            raw_by_service: dict[str, dict[str, dict[int, TurnResult]]] = {}
            if setting == "a":
                for s in setup.services:
                    knn = NearestExample(embedder, setup.tools[s])
                    raw_by_service[s] = knn_results(embedder, knn, sets[s], timed)
            else:
                knn = NearestExample(embedder, setup.all_tools)
                raw = knn_results(embedder, knn, union, timed)
                raw_by_service = {s: {d: raw[d] for d in members[s]} for s in setup.services}
            for s in setup.services:
                for d in sets[s]:
                    expects = expectations(d)
                    for index, r in raw_by_service[s][d.key].items():
                        rows.extend((s, r.tool or "", r.score, e)
                                    for e in expects[index] if e.service == s)
            thresholds = {s: knn_threshold(rows, s) for s in setup.services}
            for s in setup.services:
                decided = apply_threshold(raw_by_service[s], thresholds[s])
                for d in sets[s]:
                    score_dialogue(d, decided[d.key], [s], setup.all_tools, tallies, False)
            entries = {s: {**tallies[s].summary(slots=False), "threshold": thresholds[s]}
                       for s in setup.services}
        else:
            router = routers[name]
            if setting == "a":
                results: dict[str, dict[int, TurnResult]] = {}
                for s in setup.services:
                    suite = Suite(s, setup.tools[s], [], [], [])
                    results |= run_planner(router, suite, sets[s], timed, f"{name} ({s})")
            else:
                suite = Suite("sgd", setup.all_tools, [], [], [])
                results = run_planner(router, suite, union, timed, f"{name} (b)")
            for d in union:
                wanted = [s for s in setup.services if d.key in members[s]]
                score_dialogue(d, results[d.key], wanted, setup.all_tools, tallies,
                               args.analyse_classes)
            entries = {s: tallies[s].summary() for s in setup.services}
        out[name] = {"services": entries, "median": medians(entries),
                     "seconds": round(time.perf_counter() - t0, 1)}
        print(f"  {name} ({setting}) done in {out[name]['seconds']}s", flush=True)
    return out


def medians(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, float | None]:
    keys = [k for k in next(iter(entries.values()), {}) if k not in ("failure_classes",)]
    out: dict[str, float | None] = {}
    for key in keys:
        values = [e[key] for e in entries.values() if isinstance(e.get(key), int | float)]
        out[key] = round(statistics.median(values), 4) if values else None
    return out


# -- SGD: error analysis on train (never dev) ------------------------------------------------------

def analyse_train(args: argparse.Namespace, routers: dict[str, PlannerRouter]) -> dict[str, Any]:
    """Failure classes of the chosen planners on train dialogues that give no example and are
    in no evaluation set (setting (a): single-service dialogues, that service's tools)."""
    data = load_sgd(Path(args.sgd))
    setup = build_setup(data, None, 0)
    evaluated = {d.id for ds in setup.eval_sets.values() for d in ds if d.split == "train"}
    pool = [d for d in data.dialogues["train"] if len(d.services) == 1
            and d.id not in evaluated and d.id not in setup.used["train"]]
    chosen = sorted(sorted(pool, key=lambda d: sha_key("analysis:" + d.id))[:args.analyse],
                    key=lambda d: natural_key(d.id))
    out: dict[str, Any] = {"dialogues": len(chosen), "split": "train"}
    for name, router in routers.items():
        tally = {s: Tally() for s in setup.tools}
        for d in chosen:
            service = d.services[0]
            results = run_planner(router, Suite(service, setup.tools[service], [], [], []),
                                  [d], set(), name)
            score_dialogue(d, results[d.key], [service], setup.all_tools, tally, True)
            if args.show_failures:
                show_failures(d, results[d.key])
        merged = Tally()
        for t in tally.values():
            merged.add(t)
        out[name] = merged.summary()
        print(f"\nerror analysis ({name}) on {len(chosen)} train dialogues: " + ", ".join(
            f"{k} {v}" for k, v in out[name].items() if k != "failure_classes"))
        for cls, n in merged.failures.most_common(15):
            print(f"  {n:>5}  {cls}")
    return out


def show_failures(d: Dialogue, results: Mapping[int, TurnResult]) -> None:
    """For the person doing error analysis, on the terminal only (never written to a file)."""
    expects = expectations(d)
    for service in d.services:
        call = final_call(d, service)
        if call is None:
            continue
        last = step_before(latest_steps(d, results), call.turn)
        mark = "ok" if final_ok(call, last) else "FAIL"
        print(f"  [{d.id} final] {mark} want {call.tool} {dict(call.user_stated)} | last step "
              f"{last[0] + ' ' + str(last[1]) if last else None}")
    for index, turn in d.user_turns():
        r = results[index]
        for e in expects[index]:
            bad_intent = e.intent_tool is not None and r.tool != e.intent_tool
            bad_none = e.kind == "no_tool" and r.tool is not None
            if bad_intent or bad_none or e.slots:
                print(f"  [{d.id}#{index}] {turn['utterance'][:110]!r}\n"
                      f"      want {e.intent_tool or e.kind} {dict(e.slots)} | got {r.tool} "
                      f"{r.arguments} asks {r.asks_for} {r.error or ''}")


# -- CLINC150 --------------------------------------------------------------------------------------

def evaluate_clinc(args: argparse.Namespace, routers: dict[str, PlannerRouter],
                   embedder: BenchEmbedder) -> dict[str, Any]:
    data = json.loads((Path(args.clinc) / "data_train_val.json").read_text(encoding="utf-8"))
    examples: dict[str, list[str]] = {}
    for text, intent in data["train"]:
        if len(examples.setdefault(intent, [])) < MAX_EXAMPLES:
            examples[intent].append(text)
    tools: dict[str, Tool] = {}
    for intent in sorted(examples):
        t = tool_from_schema(intent, intent.replace("_", " "),
                             {"type": "object", "properties": {}},
                             examples=examples[intent]).namespaced("clinc")
        tools[t.name] = t
    records = [(text, f"clinc.{intent}") for text, intent in data["val"]] + \
        [(text, None) for text, _ in data["oos_val"]]
    if args.analyse:
        # Error analysis on development data: train utterances that are no tool's example
        # (every k-th, about N in scope) and oos_train; val stays the evaluation set.
        rest = [(text, f"clinc.{intent}") for text, intent in data["train"]
                if text not in examples[intent]]
        records = rest[::max(1, len(rest) // args.analyse)][:args.analyse] + \
            [(text, None) for text, _ in data["oos_train"]]
    if args.limit_dialogs:
        records = records[::max(1, len(records) // (args.limit_dialogs * 10))]
    split = "train (not examples) + oos_train" if args.analyse else "val + oos_val"
    print(f"CLINC150: {len(tools)} tools, {len(records)} utterances ({split})", flush=True)
    suite = Suite("clinc", tools, [], [], [])
    report: dict[str, Any] = {"tools": len(tools), "examples_per_intent": MAX_EXAMPLES,
                              "utterances": len(records),
                              "in_scope": sum(1 for _, w in records if w),
                              "out_of_scope": sum(1 for _, w in records if w is None),
                              "routers": {}}
    for name in args.routers:
        t0 = time.perf_counter()
        predicted: list[tuple[str | None, float | None, float | None]] = []
        note = ""
        threshold = None
        if name == "knn":
            knn = NearestExample(embedder, tools)
            scored = knn.scores(embedder.embed_documents([t for t, _ in records]))
            threshold = balanced_threshold(
                [(p == w, s) for (p, s), (_, w) in zip(scored, records, strict=True) if w],
                [s for (_, s), (_, w) in zip(scored, records, strict=True) if not w])
            for i, ((p, s), (text, _)) in enumerate(zip(scored, records, strict=True)):
                lat = time_knn(embedder, knn, text) if i % CLINC_TIMED_EVERY == 0 else None
                predicted.append((p if s >= threshold else None, lat, None))
            note = ("threshold chosen on this same val + oos_val (the test split is held "
                    "out): optimistic")
        else:
            router = routers[name]
            prefetch_queries(router, suite, {}, [[t] for t, _ in records], name)
            for i, (text, _) in enumerate(records):
                r = router.turn(suite, {}, text, router.harness.state_type(),
                                i % CLINC_TIMED_EVERY == 0)
                predicted.append((ERROR if r.error else r.tool, r.latency, r.floor))
            router.embedder.flush()
            note = "own calibration, nothing tuned here"
        report["routers"][name] = clinc_scores(records, predicted, threshold, note,
                                               time.perf_counter() - t0)
        if args.analyse:
            report["routers"][name]["failures"] = clinc_failures(records, predicted)
        print(f"  {name} done in {time.perf_counter() - t0:.0f}s", flush=True)
    return report


def clinc_failures(records: Sequence[tuple[str, str | None]],
                   predicted: Sequence[tuple[str | None, float | None, float | None]]
                   ) -> dict[str, Any]:
    """Failure classes (in scope → another intent / no tool; out of scope → a tool) and the
    intent pairs confused most often (labels only, never utterances)."""
    classes: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for (_, want), (got, _lat, _floor) in zip(records, predicted, strict=True):
        if got == want:
            continue
        if want is None:
            classes["out of scope -> a tool"] += 1
        elif got is None:
            classes["in scope -> no tool"] += 1
        else:
            classes["in scope -> another intent"] += 1
            pairs[f"{want.removeprefix('clinc.')} -> {str(got).removeprefix('clinc.')}"] += 1
    return {"classes": dict(classes.most_common()), "confused": dict(pairs.most_common(15))}


def clinc_scores(records: Sequence[tuple[str, str | None]],
                 predicted: Sequence[tuple[str | None, float | None, float | None]],
                 threshold: float | None, note: str, seconds: float) -> dict[str, Any]:
    in_scope = [(p, w) for (p, _, _), (_, w) in zip(predicted, records, strict=True) if w]
    oos = [p for (p, _, _), (_, w) in zip(predicted, records, strict=True) if w is None]
    none_tp = sum(1 for p in oos if p is None)
    none_fp = sum(1 for p, _ in in_scope if p is None)
    lat = sorted(x for _, x, _ in predicted if x is not None)
    flo = sorted(x for _, _, x in predicted if x is not None)

    def pct(xs: list[float], q: float) -> float | None:
        return round(1000 * xs[min(len(xs) - 1, int(q * len(xs)))], 2) if xs else None

    return {
        "in_scope_accuracy": round(sum(p == w for p, w in in_scope) / len(in_scope), 4)
        if in_scope else None,
        "oos_recall": round(none_tp / len(oos), 4) if oos else None,
        "oos_precision": round(none_tp / (none_tp + none_fp), 4) if none_tp + none_fp
        else None,
        "errors": sum(1 for p, _, _ in predicted if p == ERROR),
        "threshold": threshold, "note": note,
        "latency_p50_ms": pct(lat, 0.5), "latency_p95_ms": pct(lat, 0.95),
        "floor_p50_ms": pct(flo, 0.5), "turns_timed": len(lat), "seconds": round(seconds, 1),
    }


# -- tables ----------------------------------------------------------------------------------------

SGD_COLUMNS = [("intent_accuracy", "intent"), ("intent_sibling", "int~sib"),
               ("no_tool_recall", "none R"), ("no_tool_precision", "none P"),
               ("slot_f1", "slotF1"), ("slot_f1_right_tool", "F1|tool"),
               ("final_call_success", "final"), ("latency_p50_ms", "p50 ms"),
               ("floor_p50_ms", "floor"), ("errors", "errors"), ("threshold", "thr")]


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value <= 1.0 and not isinstance(value, bool):
        return f"{value:.3f}"
    return str(value)


def print_sgd(report: dict[str, Any]) -> None:
    for setting, routers in report["settings"].items():
        label = {"a": "(a) only the service's tools, single-service dialogues",
                 "b": "(b) all services' tools, all dialogues"}[setting]
        print(f"\nSGD {label}")
        print(f"{'median over services':<22}{'router':>7}" +
              "".join(f"{h:>9}" for _, h in SGD_COLUMNS))
        for name, entry in routers.items():
            print(f"{'':<22}{name:>7}" + "".join(f"{fmt(entry['median'].get(k)):>9}"
                                              for k, _ in SGD_COLUMNS))
        for name, entry in routers.items():
            print(f"\n  per service, {name} ({setting})")
            print(f"  {'service':<20}{'dlg':>5}" + "".join(f"{h:>9}" for _, h in SGD_COLUMNS))
            for service, row in entry["services"].items():
                split = "" if report["services"][service]["eval_split"] == "dev" else "*"
                print(f"  {service + split:<20}{row['dialogues']:>5}" +
                      "".join(f"{fmt(row.get(k)):>9}" for k, _ in SGD_COLUMNS))
    print("\n* evaluated on a sample of its TRAIN dialogues (the service has no dev dialogues)")


def print_clinc(report: dict[str, Any]) -> None:
    print(f"\nCLINC150 {report['split']} ({report['in_scope']} in scope, "
          f"{report['out_of_scope']} "
          f"out of scope; {report['tools']} tools, {report['examples_per_intent']} examples "
          "each)")
    keys = ["in_scope_accuracy", "oos_recall", "oos_precision", "latency_p50_ms",
            "floor_p50_ms", "errors", "threshold"]
    print(f"{'router':<8}" + "".join(f"{k:>19}" for k in keys))
    for name, row in report["routers"].items():
        print(f"{name:<8}" + "".join(f"{fmt(row.get(k)):>19}" for k in keys) +
              f"   {row['note']}")


# -- main ------------------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    from threadpoolctl import threadpool_info

    return {"platform": platform.platform(), "node": platform.node(),
            "cores": os.cpu_count(), "python": platform.python_version(),
            "blas_threads": sorted({i.get("num_threads") for i in threadpool_info()
                                    if i.get("user_api") == "blas"}),
            "v1_commit": V1_COMMIT, "v2_source_sha256": source_digest()}


def source_digest() -> str:
    """Which state of the current planner was measured (it is being rewritten)."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "core").rglob("*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def make_routers(names: Sequence[str], embedder: BenchEmbedder, runtime: Runtime
                 ) -> dict[str, PlannerRouter]:
    from lamworks.planner import NeuroSymbolicPlanner

    routers: dict[str, PlannerRouter] = {}
    if "v1" in names:
        v1 = load_v1()
        routers["v1"] = PlannerRouter(
            "v1", Harness(runtime, v1.NeuroSymbolicPlanner(embedder), V1DialogState), embedder)
    if "v2" in names:
        routers["v2"] = PlannerRouter("v2", Harness(runtime, NeuroSymbolicPlanner(embedder)),
                                      embedder)
    return routers


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sgd", help="the SGD folder (schemas and dialogues)")
    parser.add_argument("--clinc", help="the CLINC150 folder (data_train_val.json)")
    parser.add_argument("--routers", default="knn,v1,v2", help="any of knn,v1,v2")
    parser.add_argument("--services", help="SGD: only these held-out services (A,B)")
    parser.add_argument("--limit-dialogs", type=int, default=0,
                        help="SGD: dialogues per service (quick runs; CLINC: ~10x utterances)")
    parser.add_argument("--timed-dialogs", type=int, default=5,
                        help="SGD: dialogues per service and setting timed with real "
                             "embeddings")
    parser.add_argument("--analyse", type=int, default=0,
                        help="SGD: error analysis of the planners on N train dialogues in no "
                             "evaluation set; CLINC: on about N train utterances that are no "
                             "example, plus oos_train (instead of the benchmark)")
    parser.add_argument("--show-failures", action="store_true",
                        help="with --analyse: print failing turns (terminal only)")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "lamworks-bench" /
                                                "public-embeddings.sqlite"),
                        help="embedding cache on disk (outside the repository)")
    args = parser.parse_args(argv)
    args.routers = [r for r in ROUTERS if r in set(args.routers.split(","))]
    args.analyse_classes = True
    if not (args.sgd or args.clinc):
        parser.error("give --sgd DIR and/or --clinc DIR")

    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    workdir = Path(tempfile.mkdtemp(prefix="lamworks-public-"))
    os.environ["LAMWORKS_DATA_DIR"] = str(workdir)
    config = load_config(REPO / "examples" / "lamworks.toml")
    runtime = Runtime(config)
    embedder = BenchEmbedder(EmbeddingCache(Path(args.cache)))
    embedder.encode(["warm up the model"])
    threadpool_limits(1, user_api="blas")  # again: the model brought its own BLAS library
    routers = make_routers(args.routers, embedder, runtime)
    quick = bool(args.limit_dialogs or args.services or len(args.routers) < len(ROUTERS))
    suffix = "-quick" if quick else ""
    info = machine()
    print(f"machine: {info['platform']}, {info['cores']} cores, BLAS threads "
          f"{info['blas_threads']}; v1 = {V1_COMMIT}; routers {','.join(args.routers)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.sgd and args.analyse:
        planners = {n: r for n, r in routers.items()}
        report = {"machine": info, **analyse_train(args, planners)}
        out = RESULTS / "public-sgd-analysis.json"
        out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        print(f"wrote {out}")
        return 0
    started = time.perf_counter()
    if args.sgd:
        report = {"machine": info, "protocol": "leave-one-service-out; see bench/public.py",
                  "today": SGD_TODAY, "limit_dialogs": args.limit_dialogs,
                  **evaluate_sgd(args, routers, embedder, runtime)}
        report["seconds"] = round(time.perf_counter() - started, 1)
        print_sgd(report)
        out = RESULTS / f"public-sgd{suffix}.json"
        out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        print(f"wrote {out}")
    if args.clinc:
        started = time.perf_counter()
        split = "train (not examples) + oos_train" if args.analyse else "val + oos_val"
        report = {"machine": info, "split": split, **evaluate_clinc(args, routers, embedder)}
        report["seconds"] = round(time.perf_counter() - started, 1)
        print_clinc(report)
        for name, scores in report["routers"].items():
            if "failures" in scores:
                print(f"  {name} failures: {scores['failures']['classes']}")
                for pair, n in scores["failures"]["confused"].items():
                    print(f"    {n:4d}  {pair}")
        out = RESULTS / (f"public-clinc{suffix}.json" if not args.analyse
                         else "public-clinc-analysis.json")
        out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
