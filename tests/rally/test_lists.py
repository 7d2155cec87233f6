"""rally.lists: the query string a list page reads and the links it writes back."""

import pytest

from rally.lists import ListQuery, page_of, sort_param

SORTABLE = {"name", "email"}


@pytest.mark.parametrize(("raw", "expected"), [
    ("email", "email"), ("-email", "-email"), ("", "name"), (None, "name"),
    ("password", "name"), ("--name", "name")])
def test_sort_param_keeps_a_known_key_either_way_and_falls_back_otherwise(raw, expected):
    assert sort_param(raw, allowed=SORTABLE, default="name") == expected


def _query(**params):
    return ListQuery("/people/", {"q": "", "f": [], "sort": "name", **params},
                     default_sort="name")


def test_the_plain_list_has_the_plain_url():
    assert _query().url() == "/people/"
    assert _query().url(page=1) == "/people/"


def test_links_keep_parameters_in_order_repeat_lists_and_put_the_page_last():
    query = _query(q="ada", f=["plan:eq:pro", "seats:gt:5"], sort="-email")
    assert query.url(page=3) == ("/people/?q=ada&f=plan%3Aeq%3Apro&f=seats%3Agt%3A5"
                                 "&sort=-email&page=3")
    assert query.url(q="", f=[], extra="x") == "/people/?sort=-email&extra=x"


def test_a_sort_header_sorts_ascending_first_then_the_other_way():
    plain = _query().sort_link("email", "Email")
    assert plain == {"label": "Email", "aria_sort": None, "url": "/people/?sort=email"}
    current = _query(sort="email", page=4).sort_link("email", "Email")
    assert current["aria_sort"] == "ascending" and current["url"] == "/people/?sort=-email"
    reversed_ = _query(sort="-email").sort_link("email", "Email")
    assert reversed_["aria_sort"] == "descending" and reversed_["url"] == "/people/?sort=email"
    assert _query(sort="-name").sort_link("name")["url"] == "/people/"


def test_a_date_header_can_sort_newest_first_then_the_other_way():
    assert _query().sort_link("applied", descending_first=True)["url"] == \
        "/people/?sort=-applied"
    newest = _query(sort="-applied").sort_link("applied", descending_first=True)
    assert newest["aria_sort"] == "descending" and newest["url"] == "/people/?sort=applied"
    oldest = _query(sort="applied").sort_link("applied", descending_first=True)
    assert oldest["aria_sort"] == "ascending" and oldest["url"] == "/people/?sort=-applied"


def test_page_links_name_the_neighbouring_pages_only():
    page = page_of(list(range(25)), {"page": "2"}, 10)
    assert _query(q="x").page_links(page) == {"previous": "/people/?q=x",
                                              "next": "/people/?q=x&page=3"}
    last = page_of(list(range(25)), {"page": "99"}, 10)
    assert last.number == 3 and _query().page_links(last)["next"] is None
    assert page_of([], {"page": "garbage"}, 10).number == 1
