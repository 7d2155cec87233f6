"""rally.http.safe_next: a "next" link may only send a person to a path on this site."""

import pytest
from django.test import RequestFactory

from rally.http import safe_next, safe_url


@pytest.mark.parametrize(("candidate", "expected"), [
    ("/studies/?page=2", "/studies/?page=2"),
    ("https://evil.example/", "/home/"),
    ("//evil.example/path", "/home/"),
    ("/\\evil.example", "/home/"),
    ("studies:study_list", "/home/"),  # a view name redirect() would resolve
    ("", "/home/"),
    (None, "/home/"),
])
def test_only_a_path_on_this_site_is_followed(candidate, expected):
    request = RequestFactory().get("/")
    assert safe_url(request, candidate, "/home/") == expected


def test_the_form_field_wins_over_the_query_string():
    request = RequestFactory().post("/?next=/from-query/", {"next": "/from-form/"})
    assert safe_next(request, "/home/") == "/from-form/"
    assert safe_next(RequestFactory().get("/?next=/from-query/"), "/home/") == "/from-query/"
    assert safe_next(RequestFactory().get("/"), "/home/") == "/home/"
