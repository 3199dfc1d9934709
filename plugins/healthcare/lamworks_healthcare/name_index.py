"""The names the slot extractors look for, looked up by targeted queries, never by a scan.

The patient extractor used to read every Patient in the store on every utterance (a paged full
scan over HTTP with the REST store). Now each store answers for the words of the utterance only
(:meth:`StoreNames.patients_in`):

- :class:`~.store_local.LocalFHIRStore` keeps an index table of patient terms, written in the
  same transaction as each patient (:func:`patient_terms`): the utterance's word runs, and their
  runs of up to :data:`MAX_NAME_WORDS`, are looked up in one indexed query. Nothing is built per
  process and nothing can be stale: the table is as current as the patients themselves.
- :class:`~.store_rest.RestFHIRStore` is asked ``Patient?name=<word>&name=<next word>`` for each
  pair of adjacent words of the utterance (both parts must match a name part, FHIR's
  starts-with string search), a few small searches whose answers do not grow with the number of
  patients; what a write puts on the server is found on the next utterance.
- any other store: a :class:`PatientNameIndex` built by one search when first used and kept
  current as described below.

Either way the candidates found are checked with exactly the regular expression the extractor
always used, so the matches (values, spans, order, de-duplication) are those of the old full
scan over the candidates. Practitioners (a clinic's handful) stay a list read once and kept
current. :class:`StoreNames` holds, per store (the ``services["fhir"]`` object, in a weak map),
the practitioner list and, for other stores, the patient index.

Matching costs O(words in the utterance): the index is keyed by a patient name's ``\\w+`` runs
(case- and accent-folded), so an utterance is cut into its runs and each run position is looked
up for every name length present (a handful). Each candidate is then checked with exactly the
regular expression the extractor always used, at exactly that position, so the matches (values,
spans, order, de-duplication) are the same as those of the old full scan; the only cost that
grows with the store is the number of patients that share one exact name.

How the practitioner list (and another store's patient index) stays current (the refresh rule):

- Writes through the plugin's own tools update it at once: :func:`~.changes.commit` hands the
  written resources to :func:`note_written`, so a patient registered (or renamed) by a tool is
  found on the very next utterance, with either store.
- Writes by anyone else (another process, an import, the EHR behind a FHIR server) are picked
  up from the store's change feed, never by re-reading the patients:

  * :class:`~.store_local.LocalFHIRStore`: checked on **every** utterance, because the check is
    one indexed query on the append-only ``history`` table (``rowid > cursor``), whose cost is
    the number of writes since the last check. A store version is exact (no window in which a
    direct write is missed) and a TTL would only add staleness to a check that costs
    microseconds.
  * :class:`~.store_rest.RestFHIRStore`: a **TTL** (``REST_CHECK_EVERY_S``, 30 s) between checks,
    because any check is an HTTP round trip, too slow to add to every utterance. A check is one
    ``GET [type]/_history?_since=<newest lastUpdated seen>`` per watched type (Patient,
    Practitioner, Schedule), one page each; only when more changed than fits in a page, or the
    server has no type-level history, is the index rebuilt from a search (at most once per TTL).
    Names written elsewhere are thus found within 30 s; names the tools wrote, at once.
  * any other store: rebuilt from a search at most once per TTL.

Values stay safe when the index is stale: the extractors only propose names, which the tools
resolve again against the store.
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lamworks import EntityMatch, Span

from .directory import PractitionerInfo, patient_display, practitioners
from .errors import FHIRStoreError
from .store import BundleEntry

__all__ = ["MAX_NAME_WORDS", "PatientNameIndex", "REST_CHECK_EVERY_S", "StoreNames", "name_key",
           "names_of", "note_written", "patient_terms"]

REST_CHECK_EVERY_S = 30.0
"""Seconds between change checks of a store whose check is a network round trip."""

WATCHED = ("Patient", "Practitioner", "Schedule")
_RUN = re.compile(r"\w+")
_KEY_SEPARATOR = "\x1f"
MAX_NAME_WORDS = 8
"""Names of more word runs than this are indexed as unkeyed (always tried) by the local store."""
_PER_PAIR = 50
"""At most this many patients per name-pair search on a FHIR server (people sharing two name
parts that start alike)."""
_NOT_NAME_PARTS = frozenset(
    "a an the and or of to in on at by for with from is are am be was my me i you your our "
    "their his its it this that please pls can could would should will what when where who how "
    "do does did have has had".split())
"""Words never searched for as a name part on a server (each search is a round trip)."""


def _fold(text: str) -> str:
    """Case- and accent-folded: a coarse key (the exact regex decides), so that every pair the
    regex's ``re.I`` treats as equal ("İ"/"i", "ſ"/"s", "ẞ"/"ß") folds to one key."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold())
                   if not unicodedata.combining(c))


def name_pattern(name: str) -> re.Pattern[str]:
    """The extractor's pattern for one display name (unchanged from the full-scan version)."""
    return re.compile(r"\b" + r"\s+".join(map(re.escape, name.split())) + r"\b", re.I)


@dataclass
class _Name:
    display: str
    pattern: re.Pattern[str]
    lead: int
    """Characters between the start of a match and its first ``\\w`` run (a fixed prefix)."""
    key: tuple[str, ...] | None
    """The folded ``\\w`` runs; None when the name cannot be keyed (always tried)."""
    ids: set[str] = field(default_factory=set)


def _describe(display: str) -> _Name:
    joined = " ".join(display.split())
    runs = [m for m in _RUN.finditer(joined)]
    lead = runs[0].start() if runs else 0
    keyed = bool(runs) and not any(c.isspace() for c in joined[:lead])
    return _Name(display, name_pattern(display), lead,
                 tuple(_fold(m.group()) for m in runs) if keyed else None)


def name_key(display: str) -> str | None:
    """The folded word runs of a display name joined (the local store's ``"name"`` term), or None
    for a name the index cannot key (always tried)."""
    key = _describe(display).key
    if key is None or not key or len(key) > MAX_NAME_WORDS:
        return None
    return _KEY_SEPARATOR.join(key)


def patient_terms(patient: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What the local store indexes a patient under: ``(kind, term, display)`` rows for the name
    key (or ``("unkeyed", "")``), each word of the names as a ``name`` search matches them
    (lower-cased, and each whole name part), the birth date, each identifier and each phone's
    digits."""
    from .search import SEARCH_PARAMETERS

    display = patient_display(patient)
    key = name_key(display)
    rows = [("name", key, display) if key is not None else ("unkeyed", "", display)]
    for part in SEARCH_PARAMETERS["Patient"]["name"][1](patient):
        lowered = str(part).lower()
        rows += [("word", word, display) for word in [lowered, *lowered.split()]]
    if patient.get("birthDate"):
        rows.append(("birthdate", str(patient["birthDate"]), display))
    rows += [("identifier", str(i["value"]), display)
             for i in patient.get("identifier", []) or [] if isinstance(i, dict) and i.get("value")]
    rows += [("phone", digits, display)
             for t in patient.get("telecom", []) or []
             if isinstance(t, dict) and t.get("system") == "phone"
             and (digits := re.sub(r"\D", "", str(t.get("value", ""))))]
    return list(dict.fromkeys(rows))


def _utterance_keys(utterance: str) -> list[str]:
    runs = [_fold(m.group()) for m in _RUN.finditer(utterance)]
    return list(dict.fromkeys(_KEY_SEPARATOR.join(runs[i:i + n])
                              for n in range(1, MAX_NAME_WORDS + 1)
                              for i in range(len(runs) - n + 1)))


def _name_pairs(utterance: str) -> list[tuple[str, str]]:
    words = [m.group() for m in _RUN.finditer(utterance)]
    return list(dict.fromkeys(
        (a, b) for a, b in zip(words, words[1:], strict=False)
        if a.lower() not in _NOT_NAME_PARTS and b.lower() not in _NOT_NAME_PARTS
        and not a.isdigit() and not b.isdigit()))


class PatientNameIndex:
    """Patient display names by their folded word runs; :meth:`match` is the extractor."""

    def __init__(self) -> None:
        self._display_of: dict[str, str] = {}
        self._names: dict[str, _Name] = {}
        self._by_key: dict[tuple[str, ...], list[_Name]] = {}
        self._lengths: dict[int, int] = {}
        self._unkeyed: dict[str, _Name] = {}

    def __len__(self) -> int:
        return len(self._display_of)

    def put(self, patient_id: str, display: str) -> None:
        if self._display_of.get(patient_id) == display:
            return
        self.remove(patient_id)
        self._display_of[patient_id] = display
        name = self._names.get(display)
        if name is None:
            name = self._names[display] = _describe(display)
            if name.key is None:
                self._unkeyed[display] = name
            else:
                self._by_key.setdefault(name.key, []).append(name)
                self._lengths[len(name.key)] = self._lengths.get(len(name.key), 0) + 1
        name.ids.add(patient_id)

    def remove(self, patient_id: str) -> None:
        display = self._display_of.pop(patient_id, None)
        if display is None:
            return
        name = self._names[display]
        name.ids.discard(patient_id)
        if name.ids:
            return
        del self._names[display]
        if name.key is None:
            del self._unkeyed[display]
            return
        same = self._by_key[name.key]
        same.remove(name)
        if not same:
            del self._by_key[name.key]
        left = self._lengths[len(name.key)] - 1
        if left:
            self._lengths[len(name.key)] = left
        else:
            del self._lengths[len(name.key)]

    def put_resource(self, patient: dict[str, Any]) -> None:
        self.put(str(patient["id"]), patient_display(patient))

    def match(self, utterance: str) -> list[EntityMatch]:
        """Full names of indexed patients in the utterance, exactly as the old full scan found
        them: per name the regex's ``finditer`` matches; a span claimed by the patient with the
        smallest id first; sorted by start (stable)."""
        runs = list(_RUN.finditer(utterance))
        keys = [_fold(m.group()) for m in runs]
        starts: dict[str, list[int]] = {}
        for i, run in enumerate(runs):
            for length in self._lengths:
                if i + length > len(runs):
                    continue
                for name in self._by_key.get(tuple(keys[i:i + length]), ()):
                    starts.setdefault(name.display, []).append(run.start() - name.lead)
        found: list[tuple[str, int, int, str, str]] = []
        for display, positions in starts.items():
            name = self._names[display]
            end = 0
            for start in sorted(set(positions)):
                if start < end or start < 0:
                    continue
                hit = name.pattern.match(utterance, start)
                if hit is not None:
                    found.append((min(name.ids), hit.start(), hit.end(), display, hit.group(0)))
                    end = hit.end()
        for display, name in self._unkeyed.items():
            first = min(name.ids)
            found.extend((first, hit.start(), hit.end(), display, hit.group(0))
                         for hit in name.pattern.finditer(utterance))
        found.sort(key=lambda item: (item[0], item[1]))
        matches: list[EntityMatch] = []
        seen: set[tuple[int, int]] = set()
        for _, start, end, display, text in found:
            if (start, end) in seen:
                continue
            seen.add((start, end))
            matches.append(EntityMatch("Patient", display, Span(start=start, end=end, text=text)))
        return sorted(matches, key=lambda m: m.span.start)


class StoreNames:
    """The patient-name index and practitioner list of one store, and its refresh rule."""

    def __init__(self, store: Any, *, check_every: float | None = None) -> None:
        from .store_local import LocalFHIRStore
        from .store_rest import RestFHIRStore

        self._store = weakref.ref(store)
        self._local = isinstance(store, LocalFHIRStore)
        self._rest = isinstance(store, RestFHIRStore)
        self.targeted = self._local or self._rest
        """Patients are looked up per utterance by targeted queries (no index in memory)."""
        self._watched = ("Practitioner", "Schedule") if self.targeted else WATCHED
        self._feed = hasattr(store, "changes_since") and hasattr(store, "change_cursor")
        self.check_every = (0.0 if self._local else REST_CHECK_EVERY_S) \
            if check_every is None else check_every
        self._lock = threading.RLock()
        self.patients: PatientNameIndex | None = None
        self._practitioners: list[PractitionerInfo] | None = None
        self._cursor: Any = None
        self._checked = float("-inf")
        self._built = False
        self.rebuilds = 0
        """Times the names were read by a search of every record (never, for patients, in a
        store with targeted lookups)."""

    # -- what the extractors call ----------------------------------------------------------------

    def patients_in(self, utterance: str) -> list[EntityMatch]:
        """Full names of the store's patients found in the utterance."""
        if not self.targeted:
            return self.patient_index().match(utterance)
        store = self._live()
        found = PatientNameIndex()
        if self._local:
            for pid, display in store.patient_names(_utterance_keys(utterance)):
                found.put(pid, display)
        else:
            for first, second in _name_pairs(utterance):
                for patient in store.search("Patient", {"name": [first, second],
                                                        "_count": str(_PER_PAIR)}):
                    if patient.get("id"):
                        found.put_resource(patient)
        return found.match(utterance)

    def patient_index(self) -> PatientNameIndex:
        """The current in-memory index of a store without targeted lookups; raises
        ``FHIRStoreError`` only when it could never be built."""
        if self.targeted:
            raise TypeError("this store is searched per utterance (patients_in), not indexed")
        with self._lock:
            try:
                self._refresh()
            except FHIRStoreError:
                if self.patients is None:
                    raise
            assert self.patients is not None
            return self.patients

    def practitioner_list(self) -> list[PractitionerInfo]:
        with self._lock:
            try:
                self._refresh()
                if self._practitioners is None:
                    self._practitioners = practitioners(self._live())
            except FHIRStoreError:
                if self._practitioners is None:
                    raise
            return self._practitioners

    # -- keeping current -------------------------------------------------------------------------

    def written(self, entries: Iterable[BundleEntry], results: Iterable[Any]) -> None:
        """Apply what a tool just committed (before any change check would see it)."""
        with self._lock:
            for entry, resource in zip(entries, results, strict=False):
                rtype = entry.url.partition("/")[0]
                if isinstance(resource, dict):
                    rtype = str(resource.get("resourceType", rtype))
                self._apply(rtype, entry.url.partition("/")[2] if resource is None
                            else str(resource.get("id", "")),
                            resource if isinstance(resource, dict) else None)

    def _apply(self, rtype: str, rid: str, resource: dict[str, Any] | None) -> None:
        if rtype == "Patient" and self.patients is not None and rid:
            if resource is None:
                self.patients.remove(rid)
            else:
                self.patients.put(rid, patient_display(resource))
        elif rtype in ("Practitioner", "Schedule"):
            self._practitioners = None

    def _live(self) -> Any:
        store = self._store()
        if store is None:
            raise FHIRStoreError("the store is closed")
        return store

    def _refresh(self) -> None:
        now = time.monotonic()
        if self._built and now - self._checked < self.check_every:
            return
        store = self._live()
        if self._built and self._feed:
            cursor, changes = store.changes_since(self._cursor, self._watched)
            if changes is not None:
                for rtype, rid, resource in changes:
                    self._apply(rtype, rid, resource)
                self._cursor, self._checked = cursor, now
                return
        self._rebuild(store)
        self._checked = now

    def _rebuild(self, store: Any) -> None:
        cursor = None
        if self._feed:
            cursor = store.change_cursor() if self._local else store.change_cursor(self._watched)
        index = None
        if not self.targeted:
            index = PatientNameIndex()
            for patient in store.search("Patient", {}):
                index.put_resource(patient)
            self.rebuilds += 1
        self.patients, self._cursor, self._practitioners = index, cursor, None
        self._built = True


_BY_STORE: weakref.WeakKeyDictionary[Any, StoreNames] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def names_of(store: Any) -> StoreNames:
    """The (one) name index of this store object, created on first use."""
    with _REGISTRY_LOCK:
        names = _BY_STORE.get(store)
        if names is None:
            names = _BY_STORE[store] = StoreNames(store)
        return names


def note_written(store: Any, entries: list[BundleEntry], results: list[Any]) -> None:
    """Called by :func:`~.changes.commit` after a transaction: keeps the index current."""
    names = _BY_STORE.get(store)
    if names is not None:
        names.written(entries, results)
