"""Generated input against every form Rally serves (every POST endpoint in the URLconfs):
strings, unicode, NUL bytes, huge numbers and texts, lists, missing and unknown fields.
Never a 500; a refusal (4xx) changes nothing stored; anything that does change something
leaves an activity entry."""

import uuid

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import Resolver404
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.examples import examples
from tests.hardening.support import (
    FormScraper,
    activity_count,
    changed_tables,
    demo_world,
    fingerprint,
)

pytestmark = [pytest.mark.long, pytest.mark.django_db]

# Not Rally's forms: the sandbox is User Interviews' stand-in; the webhook has its own test.
SKIPPED_NAMESPACES = ("sandbox",)
# readyz answers 503 by design while no worker or beat runs (none does in the tests).
SKIPPED = {"recruitment:webhook", "readyz"}
#: A person's own settings and notifications: what they post changes their own rows only
#: (these tables), which is no workspace activity; anyone signed in may post them.
PERSONAL = {"account_profile": {"rally_user"}, "account_password": {"rally_user"},
            "account_notifications": {"rally_notificationpreference"},
            "notification_open": {"rally_notification"},
            "notification_mark_read": {"rally_notification"},
            "notifications_mark_all_read": {"rally_notification"}}


def _patterns(patterns, prefix="", namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern),
                                 pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, list(pattern.pattern.converters)


def endpoints():
    seen = {}
    for name, params in _patterns(get_resolver().url_patterns):
        if name.split(":")[0] in SKIPPED_NAMESPACES or name in SKIPPED or name in seen:
            continue
        seen[name] = params
    return sorted(seen.items())


ENDPOINTS = endpoints()

NASTY = st.sampled_from([
    "", " ", "0", "-1", "1e309", "NaN", "-Infinity", "0x1F", "99999999999999999999.99",
    "1,000.00", "$1,234.56", "\x00", "a\x00b", "\u202e\u0645\u0631\u062d\u0628\u0627",
    "2026-02-30", "25:61", "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --",
    "🦄" * 80, "x" * 5000, "{{ 7*7 }}", "%s%s%s", "true", "null", "[]", "{}",
    str(uuid.UUID(int=0)), "\r\n\t", "Ｆｕｌｌｗｉｄｔｈ", "é" * 300,
])
JUNK = st.one_of(
    NASTY,
    st.text(max_size=40),
    st.integers(-(2**70), 2**70).map(str),
    st.decimals(allow_nan=True, allow_infinity=True, places=4).map(str),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
)
VALUE = st.one_of(JUNK, st.lists(JUNK, min_size=2, max_size=3))


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The demo workspace, seeded once for the module inside a transaction that is rolled back
    at its end; each test runs in a savepoint of its own within it (pytest-django's)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            admin, candidates = demo_world()
            # An Admin removing or demoting themselves is its own (unit-tested) story: the
            # fuzzing stays signed in as an Admin.
            candidates["membership_id"] = [pk for pk in candidates["membership_id"]
                                           if pk != admin.pk]
            client = Client()
            client.force_login(admin.user)
            forms = _scrape(client, candidates)
            yield admin, candidates, forms
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _scrape(client, candidates):
    """Every POST form on every page the Admin can open, keyed by the URL name it posts to."""
    forms = {}
    for name, params in ENDPOINTS:
        try:
            path = reverse(name, kwargs={p: candidates[p][0] for p in params})
        except (KeyError, IndexError):
            continue
        response = client.get(path)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        scraper = FormScraper(path)
        scraper.feed(response.content.decode())
        for action, fields in scraper.post_forms():
            try:
                target = resolve(action.split("?")[0])
            except Resolver404:
                continue
            key = f"{target.namespace}:{target.url_name}" if target.namespace else target.url_name
            forms.setdefault(key, []).append(fields)
    return forms


@pytest.mark.parametrize(("name", "params"), ENDPOINTS, ids=[n for n, _ in ENDPOINTS])
def test_generated_input_never_fails_and_refusals_change_nothing(world, db, client, name,
                                                                   params):
    admin, candidates, forms = world
    known = forms.get(name) or [{}]
    pool = sorted({field for group in forms.values() for form in group for field in form})

    client.force_login(admin.user)
    state = {"fingerprint": fingerprint()}  # nothing else writes between two requests

    def post(path, body, headers):
        if name == "logout":
            client.force_login(admin.user)
        before, activities = state["fingerprint"], activity_count()
        response = client.post(path, body, **headers)
        after = state["fingerprint"] = fingerprint()
        assert response.status_code < 500, (path, body)
        if response.status_code >= 400:
            assert after == before, (
                f"{name} refused ({response.status_code}) yet changed "
                f"{changed_tables(before, after)}: {body!r}")
        elif after != before and name in PERSONAL:
            assert set(changed_tables(before, after)) <= PERSONAL[name], (
                f"{name} changed {changed_tables(before, after)}: {body!r}")
        elif after != before and name not in ("login", "logout"):
            assert activity_count() > activities, (
                f"{name} changed {changed_tables(before, after)} without an activity entry:"
                f" {body!r}")
        return response

    first = reverse(name, kwargs={p: (candidates.get(p) or [uuid.uuid4()])[0] for p in params})
    if post(first, {}, {}).status_code == 405:
        return  # a page that is only read: POST is refused and that is all there is to it

    @settings(max_examples=examples(25) if name in forms else 5, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def fuzz(data):
        kwargs = {p: data.draw(st.sampled_from(candidates.get(p) or [uuid.uuid4()]), label=p)
                  for p in params}
        form = data.draw(st.sampled_from(known), label="form")
        body = {}
        for field, defaults in form.items():
            action = data.draw(st.sampled_from(["keep", "keep", "junk", "drop"]), label=field)
            if action == "keep":
                body[field] = defaults
            elif action == "junk":
                body[field] = data.draw(VALUE, label=field)
        for field in data.draw(st.lists(st.sampled_from(pool or ["x"]), max_size=3),
                               label="extra fields"):
            body[field] = data.draw(VALUE, label=field)
        htmx = data.draw(st.booleans(), label="htmx")
        post(reverse(name, kwargs=kwargs), body, {"HTTP_HX_REQUEST": "true"} if htmx else {})

    fuzz()


#: Pages for people without a Rally sign-in: what they post may change things.
PUBLIC = {"scheduling:booking", "panel:hosted_screener", "panel:unsubscribe", "login",
          "password_reset", "password_reset_confirm"}


@pytest.mark.parametrize("who", ["observer", "outsider"])
def test_replaying_every_admin_form_without_the_right_changes_nothing(world, db, client, who):
    """The Admin's own forms, with their valid values, posted by the workspace's Observer
    (read-only) or by the Admin of another workspace: each is refused or changes nothing."""
    from rally.models import Membership
    from tests.rally.factories import MembershipFactory, UserFactory, WorkspaceFactory

    admin, candidates, forms = world
    if who == "observer":
        observer = Membership.objects.get(workspace=admin.workspace, role="observer")
    else:
        observer = MembershipFactory(workspace=WorkspaceFactory(name="Globex Insights"),
                                     role="admin", user=UserFactory(email="olga@globex.test"))
    client.force_login(observer.user)
    client.get(reverse("billing:budgets"))  # a workspace's default budget is made on first look
    before = fingerprint()
    for name, params in ENDPOINTS:
        if name in PUBLIC or name in PERSONAL or (who == "outsider" and not params):
            continue  # without an id in its URL a form acts on the outsider's own workspace
        path = reverse(name, kwargs={p: (candidates.get(p) or [uuid.uuid4()])[0]
                                     for p in params})
        for form in forms.get(name) or [{}]:
            response = client.post(path, form)
            assert response.status_code < 500, (name, form)
            after = fingerprint()
            assert after == before, (
                f"the {who} changed {changed_tables(before, after)} through {name} "
                f"({response.status_code}): {form!r}")
            if name == "logout":  # signing in again stamps last_login: a new baseline
                client.force_login(observer.user)
                before = fingerprint()
