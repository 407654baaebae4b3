"""What each command takes, read from what a person typed: a value, or the reason it is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.conversation.arguments import AT, ON_OFF, Args, NotUnderstood, Takes
from bot.conversation.menu import COMMANDS


@pytest.mark.parametrize(("name", "typed", "value"), [
    ("status", "", None),
    ("enable", "", None),
    ("enable", "ops@example.com", "ops@example.com"),
    ("enable", "ops@xn--exmple-cua.com", "ops@xn--exmple-cua.com"),
    ("set email", "OPS@Example.com", "OPS@example.com"),
    ("set all-locations", "OFF", False),
    ("history", "", None),
    ("history", "20", 20),
])
def test_what_a_command_takes_is_read(name: str, typed: str, value: object) -> None:
    assert COMMANDS.commands[name].takes.parse(typed) == Args(value)


@pytest.mark.parametrize(("name", "typed", "reason"), [
    ("status", "now", "I did not understand “now”."),
    ("disable", "now", "I did not understand “now”."),
    ("set all-locations", "on at Boston", "I did not understand “at Boston”."),
    ("enable", "ops@example.com and more", "I did not understand “and more”."),
    ("set email", "", "It needs <address>."),
    ("set all-locations", "on off", "I did not understand “off”."),
    ("history", "0", "“0” is not a number from 1 to 20."),
    ("history", "21", "“21” is not a number from 1 to 20."),
    ("history", "²", "“²” is not a number from 1 to 20."),
    ("help", "*me*", "I did not understand “\\*me\\*”."),  # repeated literally, never markdown
    ("watch", "sometimes", "I did not understand “sometimes”: say `watch` to be told of changes "
                           "here, or `watch off` to stop."),
    ("enable", 'a@b.example at "Headquarters" please', "I did not understand “please”."),
    ("status", "at “Lakeside” now", "I did not understand “now”."),
    ("status", 'at "Headquarters"please', "I did not understand “please”."),
    ("status", 'at "Headquarters', "The quote before “Headquarters” is never closed: put the "
                                   "location's name between two quotes."),
])
def test_words_a_command_does_not_take_are_named(name: str, typed: str, reason: str) -> None:
    with pytest.raises(NotUnderstood) as refused:
        COMMANDS.commands[name].takes.parse(typed)
    assert refused.value.reason == reason


def test_at_takes_every_word_after_it_as_the_location() -> None:
    takes = Takes(ON_OFF, options=(AT,))
    assert takes.usage == "[on|off] [at <location>]"
    assert takes.parse("on at Boston Clinic") == Args(True, {"at": "Boston Clinic"})
    assert takes.parse("AT Boston") == Args(None, {"at": "Boston"})
    assert takes.parse("at Cafe at Main") == Args(None, {"at": "Cafe at Main"})
    assert takes.parse('at "Riverside Clinic"') == Args(None, {"at": "Riverside Clinic"})
    assert takes.parse("at 'Joe's Cafe'") == Args(None, {"at": "Joe's Cafe"})
    assert takes.parse("at") == Args(None, {"at": ""})  # the command says it needs a name
    with pytest.raises(NotUnderstood, match="“maybe” is not on or off"):
        takes.parse("maybe at Boston")


@pytest.mark.parametrize(("typed", "name"), [
    ("'Veterans' Center'", "Veterans' Center"),  # a plural possessive inside the quotes
    ("‘Veterans’ Hall’", "Veterans’ Hall"),  # the same, typed with smart punctuation
    ("'s-Hertogenbosch Office", "'s-Hertogenbosch Office"),  # an apostrophe, not a quote
    ("‘s-Hertogenbosch", "‘s-Hertogenbosch"),
])
def test_apostrophes_in_a_name_are_the_names(typed: str, name: str) -> None:
    assert Takes(options=(AT,)).parse(f"at {typed}") == Args(None, {"at": name})


def test_usage_is_generated_from_what_each_command_takes() -> None:
    assert {c.name: c.usage for c in COMMANDS.commands.values()} == {
        "help": "help", "status": "status [at <location>]",
        "enable": "enable [email] [at <location>]", "disable": "disable [at <location>]",
        "set email": "set email <address> [at <location>]",
        "set all-locations": "set all-locations on|off", "edit": "edit [at <location>]",
        "history": "history [n] [at <location>]", "whoami": "whoami", "coverage": "coverage",
        "sign in": "sign in", "sign out": "sign out", "watch": "watch [off]",
    }


@given(st.sampled_from(sorted(COMMANDS.commands)), st.text(max_size=80))
def test_any_words_are_read_or_refused_never_an_error(name: str, typed: str) -> None:
    try:
        COMMANDS.commands[name].takes.parse(typed)
    except NotUnderstood as refused:
        assert refused.reason
