"""The templating subset: values go in unparsed; `$when`, `$data`, `$root`; missing paths fail."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.views.templating import expand

DATA = {
    "name": "Acme",
    "count": 3,
    "on": True,
    "off": False,
    "nothing": None,
    "empty": [],
    "setting": {"email": "sec@acme.com", "enabled": True},
    "items": [{"n": "a"}, {"n": "b"}],
    "words": ["x", "y"],
    "token": "tok",
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("plain", "plain"),
        ("${name}", "Acme"),
        ("${count}", 3),
        ("${on}", True),
        ("${nothing}", None),
        ("${setting}", {"email": "sec@acme.com", "enabled": True}),
        ("${setting.email}", "sec@acme.com"),
        ("${ setting.email }", "sec@acme.com"),
        ("Hello ${name}!", "Hello Acme!"),
        ("${count} items", "3 items"),
        ("flag ${on}/${off}", "flag true/false"),
        ("[${nothing}]", "[]"),
        ("${name}${name}", "AcmeAcme"),
        ("$5 and $name", "$5 and $name"),
        ("${!on}", False),
        ("${$root.name}", "Acme"),
        (42, 42),
        (None, None),
        ({"a": ["${name}", {"b": "${count}"}]}, {"a": ["Acme", {"b": 3}]}),
    ],
)
def test_expand_substitutes_values(template: Any, expected: Any) -> None:
    assert expand(template, DATA) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ([{"$when": "${on}", "k": 1}, {"$when": "${off}", "k": 2}], [{"k": 1}]),
        ([{"$when": "${!off}", "k": 1}, {"$when": "${!on}", "k": 2}], [{"k": 1}]),
        ([{"$when": "${nothing}", "k": 1}], []),
        ([{"$when": "${empty}", "k": 1}], []),
        ([{"$when": "${words}", "k": 1}], [{"k": 1}]),
        ([{"$when": True, "k": 1}, {"$when": False, "k": 2}], [{"k": 1}]),
        ({"kept": 1, "dropped": {"$when": "${off}", "x": 1}}, {"kept": 1}),
        ({"$when": "${off}", "x": 1}, None),
    ],
)
def test_when_drops_falsy_elements_and_removes_the_key(template: Any, expected: Any) -> None:
    assert expand(template, DATA) == expected


def test_data_repeats_an_element_per_item_with_the_item_as_context() -> None:
    template = ["first", {"$data": "${items}", "v": "${n}", "t": "${$root.token}"}, "last"]
    assert expand(template, DATA) == [
        "first",
        {"v": "a", "t": "tok"},
        {"v": "b", "t": "tok"},
        "last",
    ]


def test_data_over_scalars_uses_dollar_data_for_the_item() -> None:
    assert expand([{"$data": "${words}", "text": "• ${$data}", "raw": "${$data}"}], DATA) == [
        {"text": "• x", "raw": "x"},
        {"text": "• y", "raw": "y"},
    ]


def test_data_over_an_empty_list_yields_nothing() -> None:
    assert expand({"body": [{"$data": "${empty}", "x": 1}]}, DATA) == {"body": []}


def test_when_is_evaluated_per_repeated_item() -> None:
    data = {"rows": [{"show": True, "v": 1}, {"show": False, "v": 2}]}
    assert expand([{"$data": "${rows}", "$when": "${show}", "v": "${v}"}], data) == [{"v": 1}]


def test_data_bound_to_a_mapping_changes_the_context() -> None:
    assert expand({"$data": "${setting}", "to": "${email}"}, DATA) == {"to": "sec@acme.com"}


def test_template_is_not_modified() -> None:
    template = {"a": [{"$data": "${items}", "v": "${n}"}], "b": {"$when": "${off}"}}
    before = json.dumps(template)
    expand(template, DATA)
    assert json.dumps(template) == before


@pytest.mark.parametrize(
    ("template", "missing"),
    [
        ("${nope}", "nope"),
        ("Hi ${setting.nope}", "setting.nope"),
        ("${name.length}", "name.length"),
        ({"$when": "${!nope}"}, "nope"),
        ([{"$data": "${nope}"}], "nope"),
        ([{"$data": "${words}", "v": "${n}"}], "n"),
        ("${$root.nope}", "$root.nope"),
    ],
)
def test_missing_path_raises_key_error_naming_it(template: Any, missing: str) -> None:
    with pytest.raises(KeyError) as raised:
        expand(template, DATA)
    assert raised.value.args == (missing,)


@pytest.mark.parametrize(
    "template",
    ["${if(on, 'a', 'b')}", "${name + 1}", "${}", "oops ${name", {"$when": "on"}, "${items[0]}"],
)
def test_unsupported_expressions_are_rejected(template: Any) -> None:
    with pytest.raises(ValueError):
        expand(template, DATA)


def test_data_bound_to_a_list_outside_an_array_is_rejected() -> None:
    with pytest.raises(ValueError):
        expand({"$data": "${items}", "v": "${n}"}, DATA)


hostile_strings = st.text() | st.sampled_from(
    ["${name}", '"}, {"x": 1', "${$root.token}", "\\u0000", "**bold** [a](b) <b>", "{{x}}", "$"]
)


@given(value=hostile_strings)
def test_a_whole_expression_inserts_any_string_exactly(value: str) -> None:
    out = expand({"email": "${v}", "list": ["${v}"]}, {"v": value, "name": "Acme"})
    assert json.loads(json.dumps(out)) == {"email": value, "list": [value]}


@given(value=hostile_strings, prefix=st.text(alphabet="a {}"), suffix=st.text(alphabet="a $}"))
def test_an_embedded_expression_inserts_any_string_exactly(
    value: str, prefix: str, suffix: str
) -> None:
    # Template text around the expression holds `$`, `{` and `}` but no `${` of its own.
    out = expand({"text": f"{prefix}${{v}}{suffix}"}, {"v": value})
    assert json.loads(json.dumps(out)) == {"text": f"{prefix}{value}{suffix}"}


@given(values=st.lists(hostile_strings, max_size=5))
def test_repeated_items_keep_their_values(values: list[str]) -> None:
    out = expand({"rows": [{"$data": "${xs}", "v": "${$data}", "t": "<${$data}>"}]}, {"xs": values})
    assert json.loads(json.dumps(out)) == {"rows": [{"v": v, "t": f"<{v}>"} for v in values]}
