"""The one rule for typed money and counts (SPEC §13): ASCII digits, one point, commas only
between thousands; everything else refused with a sentence saying how to write it."""

import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rally.forms import CountField
from rally.numbers import count_parse, money_parse
from tests.examples import examples

MAXIMUM = Decimal("1000000.00")
# Written out independently of rally.numbers, to judge what it accepts.
ASCII_MONEY = re.compile(r"\$?[ \t\r\n]*([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\.[0-9]*)?")
ASCII_COUNT = re.compile(r"[0-9]+|[0-9]{1,3}(,[0-9]{3})+")
# Hundreds of examples: the functions are pure, so this costs well under a second each.
MANY = settings(max_examples=examples(600), deadline=None)

REFUSED = ["7,50", "12,34", "1,0,0", "1,25", ",5", "١٠٠", "۱۲", "१२", "１２", "1_000", "1e3",
           "1E3", "²", "½", "Ⅻ", "NaN", "Infinity", "-0", "0x10", "1.2.3", "--5", "5$", "",
           " ", "12 34", "1,2345", "+5", "5\u00a0000", "1 000"]


@pytest.mark.parametrize("text", REFUSED)
def test_money_refuses_what_is_not_plain_ascii_dollars_with_a_how_to(text):
    with pytest.raises(ValidationError) as refused:
        money_parse(text, label="the incentive amount", maximum=MAXIMUM)
    message = refused.value.messages[0]
    assert message.startswith("Enter the incentive amount")
    if text not in ("-0",):
        assert "digits 0-9" in message and "1,250.00" in message


@pytest.mark.parametrize("text,amount", [
    ("7.50", "7.50"), ("1,250.00", "1250.00"), ("$75", "75.00"), ("$ 75", "75.00"),
    (" 12.3 ", "12.30"), ("1,000,000", "1000000.00"), ("0.01", "0.01"), ("5.", "5.00"),
    ("100", "100.00")])
def test_money_reads_plain_amounts_exactly(text, amount):
    assert money_parse(text, maximum=MAXIMUM) == Decimal(amount)


@pytest.mark.parametrize("text,words", [
    ("0", "greater than $0.00"), ("-5", "greater than $0.00"), ("\u22125", "greater than $0.00"),
    ("10.005", "at most two decimals"), ("1,000,000.01", "at most $1,000,000.00")])
def test_money_out_of_range_says_which_way(text, words):
    with pytest.raises(ValidationError, match=re.escape(words)):
        money_parse(text, maximum=MAXIMUM)


@pytest.mark.parametrize("text", ["²", "١٠٠", "1_000", "1e3", "12.0", "2.5", "-3", "ten", "",
                                  "1,00", "１２"])
def test_count_refuses_anything_but_ascii_whole_numbers(text):
    with pytest.raises(ValidationError) as refused:
        count_parse(text, label="the participation limit", minimum=1, maximum=10_000)
    assert refused.value.messages[0].startswith("Enter the participation limit")


def test_count_reads_whole_numbers_and_names_the_bounds():
    assert count_parse("1,000", label="x", minimum=1, maximum=10_000) == 1000
    assert count_parse(" 12 ", label="x", minimum=1, maximum=10_000) == 12
    with pytest.raises(ValidationError, match="from 5 to 480 minutes"):
        count_parse("4", label="the time", minimum=5, maximum=480, unit="minutes")


def _judged_money(value):
    try:
        return money_parse(value, maximum=MAXIMUM)
    except ValidationError as error:
        assert error.messages[0].startswith("Enter the amount")
        return None


@MANY
@given(st.text(max_size=40))
@example("١٠٠")
@example("²")
@example("1_000")
@example("1e3")
@example("7,50")
def test_money_over_any_unicode_text_accepts_only_the_ascii_grammar(text):
    amount = _judged_money(text)
    if amount is None:
        return
    core = text.strip(" \t\r\n")
    assert ASCII_MONEY.fullmatch(core), text
    assert amount == Decimal(core.lstrip("$ \t\r\n").replace(",", ""))
    assert Decimal("0.01") <= amount <= MAXIMUM and amount == amount.quantize(Decimal("0.01"))


@MANY
@given(st.text(alphabet=st.one_of(st.characters(categories=("Nd", "No", "Nl")),
                                  st.sampled_from("0123456789,._$ eE-+")), max_size=20))
def test_money_over_unicode_digits_and_separators_never_reads_a_foreign_digit(text):
    amount = _judged_money(text)
    if amount is not None:
        assert text.isascii() and ASCII_MONEY.fullmatch(text.strip(" \t\r\n"))


@MANY
@given(st.decimals(min_value=Decimal("0.01"), max_value=MAXIMUM, places=2),
       st.booleans(), st.booleans())
def test_money_reads_back_every_amount_written_the_documented_way(amount, grouped, dollar):
    text = f"{amount:,.2f}" if grouped else f"{amount:.2f}"
    assert money_parse(("$" if dollar else "") + text, maximum=MAXIMUM) == amount


@MANY
@given(st.one_of(st.text(max_size=30),
                 st.text(alphabet=st.characters(categories=("Nd", "No", "Nl")), max_size=8)))
@example("²")
@example("١٠٠")
@example("1_000")
def test_count_over_any_unicode_text_accepts_only_ascii_whole_numbers(text):
    try:
        number = count_parse(text, label="the participation limit", minimum=1, maximum=10_000)
    except ValidationError as error:
        assert error.messages[0].startswith("Enter the participation limit")
        return
    core = text.strip(" \t\r\n")
    assert ASCII_COUNT.fullmatch(core), text
    assert number == int(core.replace(",", "")) and 1 <= number <= 10_000


@MANY
@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                 st.decimals(allow_nan=True, allow_infinity=True)))
def test_values_that_are_not_text_are_judged_the_same_way(value):
    try:
        amount = money_parse(value, maximum=MAXIMUM)
    except ValidationError:
        return
    assert isinstance(value, int | Decimal) and not isinstance(value, bool)
    assert amount == Decimal(value)


def test_count_field_answers_a_form_error_not_a_500():
    field = CountField(label="Buffer between sessions (minutes)", min_value=0, max_value=240,
                       unit="minutes")
    assert field.clean("15") == 15
    for text in ("²", "١٠", "1e2", "15.5"):
        with pytest.raises(ValidationError, match="buffer between sessions"):
            field.clean(text)
    assert CountField(label="Capacity", min_value=1, max_value=5, required=False).clean("") is None
