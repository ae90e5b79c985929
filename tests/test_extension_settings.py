"""Extension setting definitions and values, validated as AirDC++'s SettingUtils does, and
the file that keeps them between runs with the command line's pending changes."""
import json
import os

import pytest

from pyhost.server.extensions.setting_values import (
    ExtensionSettings,
    SettingsStore,
    set_from_command_line,
)
from pyhost.server.extensions.settings import parse_definition, parse_definitions
from pyhost.server.protocol import ApiError

DEFS = [
    {"key": "greeting", "title": "Greeting", "type": "string", "default_value": "hello"},
    {"key": "interval", "title": "Interval", "type": "number", "default_value": 10, "min": 1,
     "max": 3600},
    {"key": "count", "title": "Count", "type": "number", "default_value": 0},
    {"key": "enabled", "title": "Enabled", "type": "boolean", "default_value": True},
    {"key": "notes", "title": "Notes", "type": "text", "optional": True},
    {"key": "secret", "title": "Secret", "type": "password", "default_value": "x"},
    {"key": "site", "title": "Site", "type": "url", "default_value": "http://x"},
    {"key": "mail", "title": "Mail", "type": "email", "optional": True, "default_value": ""},
    {"key": "dir", "title": "Dir", "type": "directory_path", "default_value": "/tmp"},
    {"key": "file", "title": "File", "type": "file_path", "optional": True},
    {"key": "hub", "title": "Hub", "type": "hub_url", "optional": True},
    {"key": "user", "title": "User", "type": "hinted_user", "optional": True,
     "default_value": None},
    {"key": "mode", "title": "Mode", "type": "string", "default_value": "fast",
     "options": [{"id": "fast", "name": "Fast"}, {"id": "slow", "name": "Slow"}]},
    {"key": "level", "title": "Level", "type": "number", "default_value": 1,
     "options": [{"id": 1, "name": "One"}, {"id": 2, "name": "Two"}]},
    {"key": "words", "title": "Words", "type": "list", "item_type": "string",
     "default_value": ["a"]},
    {"key": "numbers", "title": "Numbers", "type": "list", "item_type": "number",
     "optional": True, "default_value": [], "max": 10},
    {"key": "picks", "title": "Picks", "type": "list", "item_type": "string", "optional": True,
     "default_value": [], "options": [{"id": "x", "name": "X"}, {"id": "y", "name": "Y"}]},
    {"key": "rules", "title": "Rules", "type": "list", "item_type": "struct", "optional": True,
     "default_value": [], "definitions": [
         {"key": "pattern", "title": "Pattern", "type": "string", "default_value": "*"},
         {"key": "weight", "title": "Weight", "type": "number", "default_value": 1,
          "max": 100}]},
]


@pytest.fixture
def by_key():
    return {d.key: d for d in parse_definitions(DEFS)}


def test_definitions_round_trip_in_airdcpps_shape(by_key):
    out = {d["key"]: d for d in (d.to_dict() for d in by_key.values())}
    assert out["interval"] == {"key": "interval", "title": "Interval", "type": "number",
                               "default_value": 10, "min": 1, "max": 3600}
    assert out["count"] == {"key": "count", "title": "Count", "type": "number",
                            "default_value": 0, "min": 0}
    assert out["notes"] == {"key": "notes", "title": "Notes", "type": "text",
                            "default_value": "", "optional": True}
    assert out["rules"]["item_type"] == "struct"
    assert [d["key"] for d in out["rules"]["definitions"]] == ["pattern", "weight"]
    assert out["mode"]["options"] == [{"id": "fast", "name": "Fast"},
                                      {"id": "slow", "name": "Slow"}]
    assert out["dir"]["default_value"] == "/tmp" + os.sep
    assert parse_definitions([d.to_dict() for d in by_key.values()])  # reparsable


@pytest.mark.parametrize("definition, field, message", [
    ({"title": "T", "type": "string", "default_value": ""}, "key", "missing"),
    ({"key": "k", "type": "string", "default_value": ""}, "title", "missing"),
    ({"key": "k", "title": "T", "default_value": ""}, "type", "missing"),
    ({"key": "k", "title": "T", "type": "color", "default_value": ""}, "type",
     'Invalid item type "color"'),
    ({"key": "k", "title": "T", "type": "boolean", "optional": True, "default_value": True},
     "optional", "can't be optional"),
    ({"key": "k", "title": "T", "type": "number", "optional": True, "default_value": 1},
     "optional", "can't be optional"),
    ({"key": "k", "title": "T", "type": "string"}, "default_value", "missing"),
    ({"key": "k", "title": "T", "type": "list", "default_value": []}, "item_type", "missing"),
    ({"key": "k", "title": "T", "type": "list", "item_type": "boolean", "default_value": []},
     "k", "not supported for list items"),
    ({"key": "k", "title": "T", "type": "list", "item_type": "struct", "default_value": []},
     "definitions", "needs its 'definitions'"),
    ({"key": "k", "title": "T", "type": "list", "item_type": "struct", "default_value": [],
      "definitions": [{"key": "l", "title": "L", "type": "list", "item_type": "string",
                       "default_value": []}]}, "type", "can't be used for list item"),
    ({"key": "k", "title": "T", "type": "struct", "default_value": {}}, "k",
     "supported only for list items"),
    ({"key": "k", "title": "T", "type": "number", "default_value": -1}, "k",
     "Value -1 is not in range 0 - 2147483647"),
    ({"key": "k", "title": "T", "type": "number", "default_value": None}, "k", "empty"),
    ({"key": "k", "title": "T", "type": "string", "default_value": "z",
      "options": [{"id": "a", "name": "A"}]}, "k", "not one of the enum options"),
    ({"key": "k", "title": "T", "type": "number", "default_value": 1,
      "options": [{"id": "1", "name": "A"}]}, "id", "must be an integer"),
])
def test_bad_definitions(definition, field, message):
    with pytest.raises(ApiError) as err:
        parse_definition(definition)
    assert err.value.code == 400 and err.value.field == field
    assert message in err.value.message


def test_duplicate_keys_are_refused():
    with pytest.raises(ApiError, match="Duplicate setting definition key a"):
        parse_definitions([{"key": "a", "title": "A", "type": "boolean", "default_value": 1 == 1},
                           {"key": "a", "title": "B", "type": "text", "default_value": "x"}])


@pytest.mark.parametrize("key, value, expected", [
    ("greeting", "hi", "hi"),
    ("greeting", "a\x00b", "a"),
    ("interval", 5, 5),
    ("interval", 7.0, 7),
    ("enabled", False, False),
    ("notes", None, ""),
    ("notes", "", ""),
    ("dir", "/data", "/data" + os.sep),
    ("user", {"cid": "ABC", "hub_url": "adc://h:1", "nicks": "bob"},
     {"nicks": "bob", "cid": "ABC", "hub_url": "adc://h:1"}),
    ("user", None, None),
    ("mode", "slow", "slow"),
    ("level", 2, 2),
    ("words", ["x", "y"], ["x", "y"]),
    ("numbers", [], []),
    ("picks", ["y", "x"], ["y", "x"]),
    ("rules", [{"pattern": "a*", "extra": 1}, {"weight": 5}],
     [{"pattern": "a*", "weight": 1}, {"pattern": "*", "weight": 5}]),
])
def test_valid_values(by_key, key, value, expected):
    assert by_key[key].validate(value) == expected


@pytest.mark.parametrize("key, value, message", [
    ("greeting", "", "can't be empty"),
    ("greeting", None, "can't be null"),
    ("greeting", 5, "must be a string"),
    ("interval", 0, "Value 0 is not in range 1 - 3600"),
    ("interval", 3601, "not in range"),
    ("interval", "5", "must be an integer"),
    ("interval", 1.5, "must be an integer"),
    ("interval", True, "must be an integer"),
    ("interval", None, "can't be empty"),
    ("enabled", None, "can't be empty"),
    ("enabled", 1, "true or false"),
    ("user", {"nicks": "bob"}, "needs a cid"),
    ("mode", "medium", "not one of the enum options"),
    ("level", 3, "not one of the enum options"),
    ("words", [], "can't be empty"),
    ("words", "x", "must be a list"),
    ("words", [""], "can't be empty"),
    ("numbers", [11], "not in range 0 - 10"),
    ("picks", ["z"], "All values can't be found from enum options"),
    ("rules", [{}], "non-empty object"),
    ("rules", [{"weight": 101}], "not in range 0 - 100"),
])
def test_invalid_values(by_key, key, value, message):
    with pytest.raises(ApiError) as err:
        by_key[key].validate(value)
    inner = key == "rules" and "range" in message  # a struct item's field names itself
    assert err.value.code == 400 and err.value.field == ("weight" if inner else key)
    assert message in err.value.message


def test_runtime_settings_and_their_file(tmp_path):
    store = SettingsStore(tmp_path)
    settings = ExtensionSettings(store)
    assert settings.values() == {} and not settings.defined
    settings.define(DEFS[:4])
    with pytest.raises(ApiError) as err:
        settings.define(DEFS[:4])
    assert err.value.code == 409
    assert settings.values() == {"greeting": "hello", "interval": 10, "count": 0,
                                 "enabled": True}
    assert settings.patch({"greeting": "hey", "interval": 10}, by_owner=True) == {
        "greeting": "hey", "interval": 10}
    with pytest.raises(ApiError) as err:
        settings.patch({"greeting": "x", "nope": 1}, by_owner=True)
    assert (err.value.field, err.value.message) == ("nope", "Setting not found")
    assert settings.values()["greeting"] == "hey"  # nothing of a refused patch is applied
    saved = json.loads(store.path.read_text())
    assert saved["values"] == {"greeting": "hey"}  # the default is not stored
    assert [d["key"] for d in saved["definitions"]] == ["greeting", "interval", "count",
                                                        "enabled"]
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    settings.reset()
    again = ExtensionSettings(store)
    again.define(DEFS[:4])  # the next run: stored values come back
    assert again.values()["greeting"] == "hey"


def test_command_line_changes_are_pending_until_delivered(tmp_path):
    store = SettingsStore(tmp_path)
    with pytest.raises(ApiError, match="not defined its settings yet"):
        set_from_command_line(store, "greeting", "x", lambda t, d: t)
    running = ExtensionSettings(store)
    running.define(DEFS[:4])
    with pytest.raises(ApiError, match="no setting 'nope'"):
        set_from_command_line(store, "nope", "x", lambda t, d: t)
    with pytest.raises(ApiError, match="not in range"):
        set_from_command_line(store, "interval", "0", lambda t, d: json.loads(t))
    set_from_command_line(store, "interval", "30", lambda t, d: json.loads(t))
    assert running.changed_on_disk()
    # the extension sends its own saved values first (the library's order) ...
    running.patch({"interval": 20}, by_owner=True)
    # ... then the pending command-line change wins
    assert running.take_pending() == {"interval": 30}
    assert running.values()["interval"] == 30 and store.read()["pending"] == {}
    assert running.take_pending() == {}
    # a user's change through the API supersedes a pending one
    set_from_command_line(store, "greeting", "cli", lambda t, d: t)
    running.patch({"greeting": "user"}, by_owner=False)
    assert running.take_pending() == {} and running.values()["greeting"] == "user"
