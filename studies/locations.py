"""Countries and US states for audience locations, from pycountry (ISO 3166), not a hand list."""

from functools import cache

import pycountry

DEFAULT_COUNTRY = "US"


@cache
def countries():
    """{alpha-2 code: name}, sorted by name."""
    rows = sorted(pycountry.countries, key=lambda country: _country_name(country))
    return {country.alpha_2: _country_name(country) for country in rows}


def _country_name(country):
    return getattr(country, "common_name", None) or country.name


@cache
def us_states():
    """The 50 states and Washington, D.C. (51), as {USPS code: name}, sorted by name."""
    rows = [subdivision for subdivision in pycountry.subdivisions.get(country_code="US")
            if subdivision.type in ("State", "District")]
    return {row.code.removeprefix("US-"): _state_name(row)
            for row in sorted(rows, key=lambda row: _state_name(row))}


def _state_name(subdivision):
    return "Washington, D.C." if subdivision.code == "US-DC" else subdivision.name


def country_name(code):
    return countries().get(code, code)


def state_name(code):
    return us_states().get(code, code)
