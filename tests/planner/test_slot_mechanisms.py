"""Generic slot-filling mechanisms: schema synonyms, declared types, the time grammar, place
names, and the rule that the core holds no domain words. Utterances are written for these
tests; no evaluation set is quoted."""

from __future__ import annotations

import json
import re
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

from lamworks import tool_from_schema
from lamworks.planner.fields import field_specs
from lamworks.planner.lexicon import lexicon
from lamworks.planner.slots import SlotFiller
from lamworks.planner.temporal import find_dates, find_times

FILLER = SlotFiller()
MONDAY = date(2030, 4, 1)
ROOT = Path(__file__).resolve().parents[2]


def _tool(properties: dict[str, Any], required: tuple[str, ...] = ()) -> Any:
    return tool_from_schema("probe", "A probe tool.", {
        "type": "object", "required": list(required), "properties": properties})


# -- x-synonyms -------------------------------------------------------------------------------

def test_enum_synonyms_come_from_the_schema() -> None:
    shipping = _tool({"speed": {"type": "string", "enum": ["standard", "overnight"],
                                "x-synonyms": {"overnight": ["next-day", "express"]}}})
    assert field_specs(shipping)[0].synonyms == {"overnight": ("next-day", "express")}
    filled = FILLER.fill(shipping, "ship the parcel express please", today=MONDAY)
    assert filled.arguments == {"speed": "overnight"}
    plain = _tool({"speed": {"type": "string", "enum": ["standard", "overnight"]}})
    assert FILLER.fill(plain, "ship the parcel express please", today=MONDAY).arguments == {}


def test_flag_synonyms_come_from_the_schema() -> None:
    lamp = _tool({"dimmed": {"type": "boolean", "x-synonyms": ["low light", "soft light"]}})
    assert FILLER.fill(lamp, "switch to a soft light", today=MONDAY).arguments == {
        "dimmed": True}
    assert FILLER.fill(lamp, "no soft light tonight", today=MONDAY).arguments == {
        "dimmed": False}


@pytest.mark.parametrize(("text", "expected"), [
    ("a seat in the window row please", "window_row"),
    ("somewhere in the row by the window", None),
    ("the Window-Row seats", "window_row"),
])
def test_enum_values_by_spelling_and_plural(text: str, expected: str | None) -> None:
    seats = _tool({"seat": {"type": "string", "enum": ["aisle", "window_row"]}})
    assert FILLER.fill(seats, text, today=MONDAY).arguments.get("seat") == expected


def test_enum_words_in_any_order_and_numbers_as_words() -> None:
    probe = _tool({"tone": {"type": "string", "enum": ["blue_dark", "red_light"]},
                   "floors": {"type": "string", "enum": ["1", "2", "3"]}})
    filled = FILLER.fill(probe, "paint it dark blue, three floors", today=MONDAY)
    assert filled.arguments == {"tone": "blue_dark", "floors": "3"}


@pytest.mark.parametrize(("text", "expected"), [
    ("I want a place with a garden", "True"),
    ("a flat without a garden is fine", "False"),
    ("a flat in the centre", None),
])
def test_a_boolean_like_enum_is_read_as_a_flag(text: str, expected: str | None) -> None:
    flat = _tool({"has_garden": {"type": "string", "enum": ["True", "False"]}})
    assert FILLER.fill(flat, text, today=MONDAY).arguments.get("has_garden") == expected


# -- declared types ---------------------------------------------------------------------------

def test_values_are_written_as_the_declared_type() -> None:
    booking = _tool({"date": {"type": "string"}, "start_time": {"type": "string"},
                     "number_of_guests": {"type": "string"},
                     "typed_day": {"type": "string", "format": "date"}})
    filled = FILLER.fill(booking, "three guests on April 5th at 7:15 pm", today=MONDAY)
    assert filled.arguments["date"] == "2030-04-05"
    assert filled.arguments["start_time"] == "19:15"
    assert filled.arguments["number_of_guests"] == "3"
    assert not filled.invalid
    typed = FILLER.fill(booking, "on April 5th", today=MONDAY, only=["typed_day"])
    assert typed.arguments["typed_day"] == date(2030, 4, 5)


# -- the time and date grammar ----------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("Pick me up at 5pm.", time(17, 0)),
    ("call me at three pm", time(15, 0)),
    ("four in the evening works", time(16, 0)),
    ("half past 11 in the morning", time(11, 30)),
    ("quarter to seven pm", time(18, 45)),
    ("I'll be there by 6:20 in the evening.", time(18, 20)),
])
def test_spoken_and_punctuated_times(text: str, expected: time) -> None:
    assert [t.value for t in find_times(text)] == [expected]


@pytest.mark.parametrize("text", ["for three people", "two tickets", "at 14 days"])
def test_counts_are_not_times(text: str) -> None:
    assert find_times(text) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("put the Easter brunch on my calendar for April 9", [date(2030, 4, 9)]),
    ("Halloween costume shopping on Friday", [date(2030, 4, 5)]),
    ("see you on Christmas morning", [date(2030, 12, 25)]),
    ("Christmas Eve dinner for six", [date(2030, 12, 24)]),  # no other date: the holiday
])
def test_a_holiday_that_names_a_thing_gives_way_to_the_date_said(text: str,
                                                                  expected: list[date]) -> None:
    assert [d.value for d in find_dates(text, MONDAY)] == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("on the 11th of this month", date(2030, 4, 11)),
    ("the 3rd of next month", date(2030, 5, 3)),
    ("Thursday next week", date(2030, 4, 11)),
    ("sunday this week", date(2030, 4, 7)),
])
def test_ordinals_and_weeks(text: str, expected: date) -> None:
    assert [d.value for d in find_dates(text, MONDAY)] == [expected]


def test_a_description_s_function_words_and_the_tool_s_noun_cue_no_date() -> None:
    agenda = tool_from_schema("list_agenda", "List the agenda.", {"type": "object", "properties": {
        "first_day": {"type": "string", "format": "date", "description": "Day to list"},
        "end_day": {"type": "string", "format": "date",
                    "description": "Last day of the range, when the user asks for several"}}})
    filled = FILLER.fill(agenda, "what is on for the day after tomorrow", today=MONDAY)
    assert filled.arguments == {"first_day": date(2030, 4, 3)}
    trains = tool_from_schema("search_return_trains", "Find trains.", {
        "type": "object", "properties": {
            "outbound_date": {"type": "string", "format": "date",
                              "description": "Start date for the journey"},
            "return_date": {"type": "string", "format": "date",
                            "description": "Date of the return train"}}})
    filled = FILLER.fill(trains, "I need a train for the 9th of April", today=MONDAY)
    assert filled.arguments == {"outbound_date": date(2030, 4, 9)}


def test_check_in_and_check_out_cue_their_dates() -> None:
    stay = _tool({"check_in_date": {"type": "string"}, "check_out_date": {"type": "string"}})
    filled = FILLER.fill(stay, "I check in on April 9 and check out on April 12",
                         today=MONDAY)
    assert filled.arguments == {"check_in_date": "2030-04-09", "check_out_date": "2030-04-12"}


# -- place names ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "city"), [
    ("Find me a bakery in Lisbon. My sister likes it.", "Lisbon"),
    ("a hotel in porto for the weekend", "Porto"),
    ("somewhere in Santa Rosa, near the park", "Santa Rosa"),
])
def test_a_place_name_ends_with_its_sentence(text: str, city: str) -> None:
    where = _tool({"city": {"type": "string"}})
    assert FILLER.fill(where, text, today=MONDAY).arguments.get("city") == city


@pytest.mark.parametrize(("text", "city"), [
    ("we are interested in Tapas Bars in Valencia", "Valencia"),
    ("Mostly interested in Jazz in New Orleans", "New Orleans"),
    ("I believe in Miracles", None),
])
def test_what_a_word_takes_with_in_is_no_place(text: str, city: str | None) -> None:
    where = _tool({"city": {"type": "string"}})
    assert FILLER.fill(where, text, today=MONDAY).arguments.get("city") == city


def test_the_place_one_visits_is_the_destination() -> None:
    trip = _tool({"origin_city": {"type": "string"}, "destination_city": {"type": "string"}})
    filled = FILLER.fill(trip, "Starting from Oslo; we're visiting Bergen after that",
                         today=MONDAY)
    assert filled.arguments == {"origin_city": "Oslo", "destination_city": "Bergen"}


@pytest.mark.parametrize(("text", "expected"), [
    ("we fly out of Calgary to Halifax", {"origin_city": "Calgary",
                                          "destination_city": "Halifax"}),
    ("a train departing Leeds, going to York", {"origin_city": "Leeds",
                                                "destination_city": "York"}),
    ("I'm leaving Turin and heading to Genoa", {"origin_city": "Turin",
                                               "destination_city": "Genoa"}),
])
def test_a_trip_starts_where_one_leaves(text: str, expected: dict[str, str]) -> None:
    trip = _tool({"origin_city": {"type": "string"}, "destination_city": {"type": "string"}})
    assert FILLER.fill(trip, text, today=MONDAY).arguments == expected


@pytest.mark.parametrize(("text", "city"), [
    ("any gigs in the Tacoma area this month?", "Tacoma"),
    ("we are staying around the Salt Lake region", "Salt Lake"),
])
def test_a_place_named_as_an_area(text: str, city: str) -> None:
    where = _tool({"city": {"type": "string"}})
    assert FILLER.fill(where, text, today=MONDAY).arguments.get("city") == city


@pytest.mark.parametrize(("text", "address"), [
    ("drop me at 77 Marlow Avenue #12 please", "77 Marlow Avenue #12"),
    ("the viewing is at 5 Birch Road. Call me first.", "5 Birch Road"),
    ("pick me up from 310 Quay St. after lunch", "310 Quay St."),
    ("deliver it to 8 Fenwick Lane Apt 4B", "8 Fenwick Lane Apt 4B"),
])
def test_a_street_address_keeps_its_unit_and_loses_the_sentence_stop(text: str,
                                                                     address: str) -> None:
    where = _tool({"address": {"type": "string", "description": "Street address"}})
    assert FILLER.fill(where, text, today=MONDAY).arguments.get("address") == address


def test_a_name_its_field_s_word_introduces_is_kept_from_other_fields() -> None:
    music = _tool({"artist": {"type": "string",
                              "description": "Name of the artist the song is performed by"},
                   "album": {"type": "string", "description": "Album the song belongs to"}})
    filled = FILLER.fill(music, "any tracks from the album The Fall of Rome?", today=MONDAY)
    assert filled.arguments == {"album": "The Fall of Rome"}


@pytest.mark.parametrize(("text", "album"), [
    ("play something off the album Under The Same Old Sky", "Under The Same Old Sky"),
    ("songs from the album A Night At The Lake please", "A Night At The Lake"),
    ("I'm into album Why Not Now these days", "Why Not Now"),
])
def test_a_title_of_function_words_after_its_field_s_word(text: str, album: str) -> None:
    """A title that begins with words no name begins with ("A", "Under", "Why") is still the
    whole run after the field's own word, and no other field takes a part of it."""
    music = _tool({"artist": {"type": "string",
                              "description": "Name of the artist the song is performed by"},
                   "album": {"type": "string", "description": "Album the song belongs to"}})
    assert FILLER.fill(music, text, today=MONDAY).arguments == {"album": album}


@pytest.mark.parametrize("text", ["two seats for Rovers vs Wanderers on Friday",
                                  "two seats for Rovers Vs. Wanderers on Friday"])
def test_a_match_is_one_name(text: str) -> None:
    tickets = _tool({"event_name": {"type": "string", "description": "Name of the match"}})
    name = FILLER.fill(tickets, text, today=MONDAY).arguments.get("event_name")
    assert name is not None and name.replace(".", "").lower() == "rovers vs wanderers"


def test_a_name_like_value_after_a_cue_ends_with_its_sentence() -> None:
    films = _tool({"genre": {"type": "string", "description": "Genre of the film"}})
    filled = FILLER.fill(films, "In the mood for a Western. Anything on tonight?",
                         today=MONDAY)
    assert filled.arguments.get("genre") == "Western"


def test_a_request_verb_is_not_an_answer_for_a_place() -> None:
    where = _tool({"city": {"type": "string"}})
    assert "city" not in FILLER.fill(where, "Locate something good", today=MONDAY,
                                     prefer="city").arguments


# -- titles from the schema -------------------------------------------------------------------

def test_titles_come_from_the_schema() -> None:
    visit = _tool({"host": {"type": "string", "x-lamworks-entity": "Host",
                            "x-titles": ["Capt"]},
                   "guest_name": {"type": "string"}})
    filled = FILLER.fill(visit, "Rosa Quint visits Capt Marlow", today=MONDAY)
    assert filled.arguments == {"host": "Capt Marlow", "guest_name": "Rosa Quint"}


# -- the lexicon is data, and the core has no domain words ------------------------------------

def test_the_lexicon_has_one_role_per_cue_word() -> None:
    cues = lexicon("en-US").date_cues
    roles = [cues["start"], cues["end"], cues["departure"], cues["birth"]]
    assert all(not a & b for i, a in enumerate(roles) for b in roles[i + 1:])


@pytest.mark.parametrize(("names", "text", "expected"), [
    (("check_in_date", "check_out_date"), "we'll be leaving on June 9",
     {"check_out_date": date(2030, 6, 9)}),
    (("departure_date", "return_date"), "we'll be leaving on June 9",
     {"departure_date": date(2030, 6, 9)}),
    (("check_in_date", "check_out_date"), "arriving June 2 and leaving June 9",
     {"check_in_date": date(2030, 6, 2), "check_out_date": date(2030, 6, 9)}),
])
def test_leaving_starts_a_trip_and_ends_a_stay(names: tuple[str, ...], text: str,
                                               expected: dict[str, date]) -> None:
    tool = _tool({n: {"type": "string", "format": "date"} for n in names})
    assert FILLER.fill(tool, text, today=MONDAY).arguments == expected


_MINE = ["core/planner/slots.py", "core/planner/candidates.py", "core/planner/proposers.py",
         "core/planner/names.py", "core/planner/places.py", "core/planner/texts.py",
         "core/planner/pools.py", "core/planner/cues.py", "core/planner/choices.py",
         "core/planner/answers.py", "core/planner/normalise.py", "core/planner/repairs.py",
         "core/planner/temporal.py", "core/planner/fields.py", "core/planner/delex.py",
         "core/planner/lexicon.py", "core/planner/lexicon/en.json", "core/planner/options.py",
         "core/planner/kinds.py"]
_POSITIONS = "option_ordinals"
"""The one exemption from the enum-value check: the words for a position in a list the
assistant just showed ("the first one"). They are compared only with the order of that list,
never with a field's values, so the suite's seating class "first" cannot be matched through
them."""
_DOMAIN = ["doctor", "dentist", "therapist", "physician", "nurse", "patient", "student",
           "teacher", "essay", "rubric", "clinic"]


@pytest.mark.parametrize("path", _MINE)
def test_the_slot_filler_holds_no_domain_word(path: str) -> None:
    text = (ROOT / path).read_text("utf-8").lower()
    found = sorted(w for w in _DOMAIN if re.search(rf"\b{w}s?\b", text))
    assert found == []


def test_no_evaluation_enum_value_is_written_in_the_slot_filler() -> None:
    schema = ROOT / "bench/data/schema_eval/tools.json"
    assert schema.exists(), "the schema evaluation suite is part of the repository"
    values: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            values.update(str(v) for v in node.get("enum", ()))
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(json.loads(schema.read_text("utf-8")))
    for path in _MINE:
        text = (ROOT / path).read_text("utf-8")
        if path.endswith(".json"):
            data = json.loads(text)
            data.pop(_POSITIONS)
            text = json.dumps(data)
        literals = set(re.findall(r"[\"']([^\"'\n]{1,40})[\"']", text))
        assert not {v.lower() for v in values} & {lit.lower() for lit in literals}, path


# -- words around a value ---------------------------------------------------------------------

def test_a_count_offered_as_choices_is_found_by_its_unit() -> None:
    flat = _tool({"number_of_rooms": {"type": "string", "enum": ["1", "2", "3"]},
                  "number_of_days": {"type": "string"},
                  "start_time": {"type": "string"}})
    filled = FILLER.fill(flat, "we stay five days, one room, arriving at 9:30", today=MONDAY)
    assert filled.arguments == {"number_of_rooms": "1", "number_of_days": "5",
                                "start_time": "09:30"}


def test_a_one_way_trip_is_not_one_traveller() -> None:
    trip = _tool({"travellers": {"type": "string", "enum": ["1", "2", "3"]}})
    assert FILLER.fill(trip, "find me a one way ticket", today=MONDAY).arguments == {}


@pytest.mark.parametrize(("text", "expected"), [
    ("Is it wheelchair accessible?", None),
    ("Are dogs allowed there?", None),
    ("Do you know a place that is wheelchair accessible?", "True"),
    ("I need somewhere wheelchair accessible.", "True"),
])
def test_a_question_about_a_flag_does_not_set_it(text: str, expected: str | None) -> None:
    venue = _tool({"wheelchair_accessible": {"type": "string", "enum": ["True", "False"]},
                   "dogs_allowed": {"type": "string", "enum": ["True", "False"]}})
    filled = FILLER.fill(venue, text, today=MONDAY)
    assert filled.arguments.get("wheelchair_accessible") == expected
    assert "dogs_allowed" not in filled.arguments


def test_an_inflected_cue_word_still_cues_its_date() -> None:
    trip = _tool({"outbound_date": {"type": "string"}, "return_date": {"type": "string"}})
    filled = FILLER.fill(trip, "a ticket that returns on April 20", today=MONDAY)
    assert filled.arguments == {"return_date": "2030-04-20"}


def test_a_writer_who_capitalises_writes_places_with_capitals() -> None:
    where = _tool({"city": {"type": "string"}})
    assert FILLER.fill(where, "Lunch near riverside, in Porto", today=MONDAY).arguments == {
        "city": "Porto"}
    assert FILLER.fill(where, "Lunch with Ines near riverside", today=MONDAY).arguments == {}
    assert FILLER.fill(where, "lunch near riverside, my treat", today=MONDAY).arguments == {
        "city": "Riverside"}
    assert FILLER.fill(where, "Give me a minute to decide.", today=MONDAY).arguments == {}


@pytest.mark.parametrize(("text", "expected"), [
    ("anything spicy please", "spicy"),
    ("noodles sound good", "noodles"),
])
def test_a_short_answer_loses_its_frame(text: str, expected: str) -> None:
    dish = _tool({"dish": {"type": "string", "description": "What to eat"}})
    assert FILLER.fill(dish, text, today=MONDAY, prefer="dish").arguments["dish"] == expected


def test_a_free_text_field_takes_a_capitalised_name_only_next_to_its_words() -> None:
    food = _tool({"cuisine": {"type": "string", "description": "Kind of food served"}})
    assert FILLER.fill(food, "some Nepali food tonight", today=MONDAY).arguments == {
        "cuisine": "Nepali"}
    assert FILLER.fill(food, "I liked Blue Finch a lot", today=MONDAY).arguments == {}


# -- a bare answer to the question asked ---------------------------------------------------------

_DISH = _tool({"dish": {"type": "string", "description": "The kind of food to cook"},
               "town": {"type": "string", "description": "Town where the class is held"}},
              ("dish", "town"))


@pytest.mark.parametrize(("answer", "expected"), [
    ("Lebanese food sounds lovely.", "Lebanese"),  # the field's own word is not the value
    ("I'd love Moules Frites and I think my sister would too", "Moules Frites"),
    ("Could you suggest a different one?", None),  # a request in return answers nothing
    ("If it works for you", None),  # nothing but function words
])
def test_a_bare_answer_loses_its_frame(answer: str, expected: str | None) -> None:
    filled = FILLER.fill(_DISH, answer, today=MONDAY, prefer="dish")
    assert filled.arguments.get("dish") == expected


@pytest.mark.parametrize(("answer", "expected"), [
    ("LA would be nice.", "LA"),
    ("Boise works for us", "Boise"),
])
def test_a_bare_place_answer_loses_its_frame(answer: str, expected: str) -> None:
    where = _tool({"city": {"type": "string", "description": "City of the venue"}}, ("city",))
    assert FILLER.fill(where, answer, today=MONDAY, prefer="city").arguments == {
        "city": expected}


def test_an_answer_never_swallows_a_value_another_field_took() -> None:
    filled = FILLER.fill(_DISH, "Anything in New Bedford is fine", today=MONDAY, prefer="dish")
    assert filled.arguments == {"town": "New Bedford"}


_VENUE = _tool({"bistro_name": {"type": "string", "description": "Name of the bistro"},
                "town": {"type": "string", "description": "Town of the bistro"}},
               ("bistro_name",))
_TRIP = _tool({"origin_town": {"type": "string", "description": "Town the coach leaves from"},
               "destination_town": {"type": "string", "description": "Town the coach goes to"},
               "operator_name": {"type": "string", "description": "Name of the coach company"}})


def test_a_name_after_at_is_the_venue_when_the_tool_names_one() -> None:
    filled = FILLER.fill(_VENUE, "a table at Chez Odette in Lille please", today=MONDAY)
    assert filled.arguments == {"bistro_name": "Chez Odette", "town": "Lille"}


def test_a_destination_after_to_stays_a_place_beside_a_name_field() -> None:
    filled = FILLER.fill(_TRIP, "a coach from Ghent to Bruges", today=MONDAY)
    assert filled.arguments["origin_town"] == "Ghent"
    assert filled.arguments["destination_town"] == "Bruges"


# -- round 7: words that belong to one value, units after numbers, numbers inside names -------

def test_a_word_only_one_enum_value_has_names_that_value() -> None:
    lights = _tool({"lamp": {"type": "string",
                             "enum": ["porch light", "garden light", "desk lamp"]}})
    assert FILLER.fill(lights, "switch on the one in the Garden", today=MONDAY).arguments == {
        "lamp": "garden light"}
    # A word several values share names none of them.
    assert FILLER.fill(lights, "switch on a light", today=MONDAY).arguments == {}


def test_a_distinctive_enum_word_after_a_place_preposition_is_a_place() -> None:
    ferry = _tool({"line": {"type": "string", "enum": ["Island Lines", "Harbour Lines"]},
                   "to_city": {"type": "string", "description": "Where the ferry goes"}})
    assert FILLER.fill(ferry, "a ferry with Harbour please", today=MONDAY).arguments[
        "line"] == "Harbour Lines"
    assert "line" not in FILLER.fill(ferry, "a ferry to Island please", today=MONDAY).arguments


def test_the_unit_after_a_number_decides_its_field() -> None:
    cabin = _tool({"number_of_cabins": {"type": "integer"},
                   "number_of_nights": {"type": "integer"}})
    assert FILLER.fill(cabin, "one cabin for 5 nights", today=MONDAY).arguments.get(
        "number_of_cabins") != 5
    assert FILLER.fill(cabin, "a cabin for 5 nights", today=MONDAY).arguments.get(
        "number_of_nights") == 5


def test_a_number_word_inside_a_capitalised_name_stays_in_it() -> None:
    show = _tool({"band": {"type": "string", "description": "The band to see"}}, ("band",))
    assert FILLER.fill(show, "tickets to see Seven Mary Three", today=MONDAY,
                       prefer="band").arguments == {"band": "Seven Mary Three"}


def test_a_name_beside_another_field_s_own_word_belongs_to_that_field() -> None:
    shelf = _tool({"author": {"type": "string", "description": "Name of the writer"},
                   "series": {"type": "string", "description": "Series the book belongs to"}})
    filled = FILLER.fill(shelf, "books in the Silver Harbour series", today=MONDAY)
    assert filled.arguments.get("series") == "Silver Harbour"
    assert "author" not in filled.arguments


# -- a kind of thing ---------------------------------------------------------------------------

SHOWS = tool_from_schema("radio.find_shows", "Find radio shows to listen to.", {
    "type": "object", "properties": {
        "artist": {"type": "string", "description": "Artist who performs"},
        "genre": {"type": "string", "description": "Genre of the show"},
        "station_type": {"type": "string", "enum": ["Talk", "Music"],
                         "description": "What the station broadcasts"},
    }})


@pytest.mark.parametrize(("text", "genre", "artist"), [
    ("any jazz shows on tonight?", "jazz", None),
    ("I'd enjoy some Reggae shows", "Reggae", None),
    ("some nice shows, preferably blues shows", "blues", None),
    ("Miles Davis shows please", None, "Miles Davis"),
    ("play Bob Marley's shows", None, "Bob Marley"),
    ("are there more talk shows", None, None),  # an enum's word: that field reads it
    ("I like listening shows, mostly shows at night", None, None),
])
def test_a_kind_field_takes_the_word_that_qualifies_the_thing(
        text: str, genre: str | None, artist: str | None) -> None:
    filled = FILLER.fill(SHOWS, text, today=MONDAY)

    assert filled.arguments.get("genre") == genre
    assert filled.arguments.get("artist") == artist


def test_the_things_a_kind_field_qualifies_come_from_the_schema() -> None:
    import doctest

    from lamworks.planner import kinds

    genre = next(f for f in field_specs(SHOWS) if f.name == "genre")
    assert {"show", "shows"} <= kinds.things(genre, SHOWS)
    assert not kinds.kind_field(next(f for f in field_specs(SHOWS) if f.name == "artist"))
    assert doctest.testmod(kinds).failed == 0


# -- a venue ------------------------------------------------------------------------------------

RECITALS = tool_from_schema("recitals.get_times", "Get times of a recital.", {
    "type": "object", "properties": {
        "piece_name": {"type": "string", "description": "Name of the piece"},
        "hall_name": {"type": "string", "description": "Name of the concert hall"},
    }})


@pytest.mark.parametrize(("text", "piece", "hall"), [
    ("When does Bolero play at Wigmore Hall?", "Bolero", "Wigmore Hall"),
    ("any times at the Royal Albert Hall", None, "Royal Albert Hall"),
    ("when can I hear The Planets", "The Planets", None),
])
def test_a_name_after_at_is_the_venue_s(text: str, piece: str | None, hall: str | None) -> None:
    filled = FILLER.fill(RECITALS, text, today=MONDAY)

    assert filled.arguments.get("piece_name") == piece
    assert filled.arguments.get("hall_name") == hall


def test_the_field_just_asked_about_reads_a_looser_meaning() -> None:
    import numpy as np

    from lamworks.planner.fields import FieldSpec
    from lamworks.planner.meaning import read_enums_by_meaning

    # A word related to one value, but less than a value's own synonym would be.
    table = {"music": [1.0, 0.0, 0.0], "sports": [0.0, 1.0, 0.0], "bout": [0.2, 0.4, 0.89]}
    embed = lambda texts: np.array([table[t.lower()] for t in texts])  # noqa: E731
    spec = FieldSpec(name="category", kind="enum", required=True, enum=("Music", "Sports"))

    assert read_enums_by_meaning([spec], "a bout please", [], embed, frozenset()) == {}
    asked = read_enums_by_meaning([spec], "a bout please", [], embed, frozenset(),
                                  asked="category")
    assert asked["category"].value == "Sports"


def test_the_asked_enum_reads_its_answer_by_meaning_before_other_fields_take_it() -> None:
    """"Look for a Gig." answers "which type of outing?": the free-text kind field's cue
    ("for a") does not take the word before the asked enum has read it by meaning."""
    import numpy as np

    table = {"film": [1.0, 0.0, 0.0], "dance": [0.0, 1.0, 0.0], "gig": [0.1, 0.9, 0.2],
             "look": [0.0, 0.0, 1.0]}

    def embed(texts: list[str]) -> Any:
        return np.array([table.get(t.lower(), [0.0, 0.0, 1.0]) for t in texts])

    outing = _tool({"outing_type": {"type": "string", "enum": ["Film", "Dance"]},
                    "subcategory": {"type": "string", "description": "The subcategory"}})
    asked = FILLER.fill(outing, "Look for a Gig.", today=MONDAY, embed=embed,
                        prefer="outing_type")
    assert asked.arguments == {"outing_type": "Dance"}


def test_a_pronoun_and_its_verb_are_no_route() -> None:
    """"..., we're going to bring ..." reads like "X to Y" but names no place."""
    trip = _tool({"city": {"type": "string", "description": "City of the event"},
                  "number_of_tickets": {"type": "integer", "description": "Tickets to buy"}})
    filled = FILLER.fill(trip, "Make that 4 tickets, we're going to bring a few cousins.",
                         today=MONDAY)
    assert "city" not in filled.arguments


def test_a_name_its_venue_noun_follows_is_the_venue_not_the_place() -> None:
    stay = _tool({"destination": {"type": "string", "description": "City to stay in"},
                  "hotel_name": {"type": "string", "description": "Name of the hotel"}})
    filled = FILLER.fill(stay, "we would like a room at The Harbour Lights Hotel",
                         today=MONDAY)
    assert filled.arguments == {"hotel_name": "The Harbour Lights Hotel"}


@pytest.mark.parametrize(("text", "expected"), [
    ("two seats from Denver to boise please", {"origin": "Denver", "destination": "Boise"}),
    ("The 3rd of May, heading to Tulsa.", {"destination": "Tulsa"}),
])
def test_a_route_with_one_end_written_as_a_name(text: str, expected: dict[str, str]) -> None:
    """One end of "X to y" written with a capital makes the other a name too; a verb ("going",
    "heading") is never an end."""
    trip = _tool({"origin": {"type": "string", "description": "City of departure"},
                  "destination": {"type": "string", "description": "City of arrival"},
                  "day": {"type": "string", "format": "date"}})
    places = {k: v for k, v in FILLER.fill(trip, text, today=MONDAY).arguments.items()
              if k != "day"}
    assert places == expected
