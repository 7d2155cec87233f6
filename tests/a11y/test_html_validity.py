"""The W3C Nu HTML Checker (npm `vnu-jar`, see package.json) over every page Rally serves, as
each role sees it in the demo workspace and as a visitor sees the public pages, with the
panels that load after the page (htmx `load` triggers) swapped in as the browser would: zero
errors. Pages are rendered through Django's test client (the same HTML a browser receives)
and the checker runs once over all of them."""

import itertools
import json
import re
import shutil
import subprocess
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch

from participants.models import Application, Participant
from rally.models import Membership
from studies.models import TestTask
from tests.hardening.support import demo_world

pytestmark = [pytest.mark.long, pytest.mark.django_db]

VNU = (Path(__file__).resolve().parents[2] / "node_modules" / "vnu-jar" / "build" / "dist"
       / "vnu.jar")
ROLES = ("admin@example.com", "ops@example.com", "researcher@example.com",
         "observer@example.com", None)  # None: a visitor, not signed in
# Not pages: the User Interviews API stand-in answers JSON, the webhook receives posts.
SKIPPED_PREFIXES = ("sandbox:api_", "sandbox:control_")
SKIPPED = {"recruitment:webhook", "logout"}
MAX_COMBINATIONS = 12
FRAGMENT_PAGE = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Fragment'
                 '</title></head><body>{}</body></html>')


def _patterns(patterns, namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, list(pattern.pattern.converters)


def page_paths(candidates, paired):
    """{URL name: [paths]} for every named URL, its parameters filled with the demo's objects
    (every combination, up to a dozen: a study's pages differ with its type and status)."""
    paths = {}
    for name, params in sorted({(n, tuple(p)) for n, p in _patterns(
            get_resolver().url_patterns)}):
        if name in SKIPPED or name.startswith(SKIPPED_PREFIXES) or name in paths:
            continue
        if any(p not in candidates for p in params):
            continue
        other = [p for p in params if p != "study_id"]
        if "study_id" in params and len(other) == 1 and other[0] in paired:
            # A study's own applicant (or task): the pairs as they are stored.
            studies = paired[other[0]]
            combinations = ({"study_id": studies[value], other[0]: value}
                            for value in candidates[other[0]] if value in studies)
        else:
            combinations = (dict(zip(params, values, strict=True)) for values in
                            itertools.product(*(candidates[p][:-1] or candidates[p]
                                                for p in params)))
        found = []
        for kwargs in itertools.islice(combinations, MAX_COMBINATIONS):
            try:
                found.append(reverse(name, kwargs=kwargs))
            except NoReverseMatch:
                continue
        paths[name] = found
    return paths


class ElementFinder(HTMLParser):
    """Where the element carrying `data-hx-get=url` (and a `load` trigger) starts and ends."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.text = text
        self.lines = [0]
        for line in text.splitlines(keepends=True):
            self.lines.append(self.lines[-1] + len(line))
        self.panels = []  # (start, start tag end, end tag start, end, url, swap)
        self.open = []  # stack of [tag, depth-tracked panel or None]

    def position(self):
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        attrs = dict(attrs)
        start = self.position()
        panel = None
        if "load" in (attrs.get("data-hx-trigger") or "").split(",")[0].split() and \
                attrs.get("data-hx-get"):
            panel = {"start": start, "inner": start + len(self.get_starttag_text()),
                     "url": attrs["data-hx-get"], "swap": attrs.get("data-hx-swap",
                                                                    "innerHTML")}
        self.open.append((tag, panel))

    def handle_endtag(self, tag):
        while self.open:
            open_tag, panel = self.open.pop()
            if panel is not None:
                end_start = self.position()
                panel["inner_end"] = end_start
                panel["end"] = self.text.index(">", end_start) + 1
                self.panels.append(panel)
            if open_tag == tag:
                break


def with_late_panels(client, html):
    """The page after its `load`-triggered panels have been fetched and swapped in."""
    finder = ElementFinder(html)
    finder.feed(html)
    for panel in sorted(finder.panels, key=lambda p: p["start"], reverse=True):
        response = client.get(panel["url"], headers={"HX-Request": "true"})
        assert response.status_code == 200, f"{panel['url']} answered {response.status_code}"
        fragment = response.content.decode()
        if panel["swap"].startswith("outerHTML"):
            html = html[:panel["start"]] + fragment + html[panel["end"]:]
        else:
            html = html[:panel["inner"]] + fragment + html[panel["inner_end"]:]
    return html


@pytest.fixture(scope="module")
def rendered_pages(django_db_setup, django_db_blocker, tmp_path_factory):
    """Every HTML page each role (and a visitor) can open, written to files: {file: label}."""
    folder = tmp_path_factory.mktemp("pages")
    files = {}
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            admin, candidates = demo_world()
            # The panel's people (the first few participants may be recruits from UI).
            candidates["participant_id"] = [*Participant.objects.filter(
                workspace=admin.workspace, kind=Participant.Kind.PANEL).values_list(
                "pk", flat=True)[:2], uuid.uuid4()]
            paired = {"application_id": {a.pk: a.study_id for a in Application.objects.all()},
                      "task_id": {t.pk: t.study_id for t in TestTask.objects.all()}}
            paths = page_paths(candidates, paired)
            for email in ROLES:
                client = Client()
                if email:
                    client.force_login(Membership.objects.get(user__email=email).user)
                for name, candidate_paths in paths.items():
                    for path in candidate_paths:
                        response = client.get(path)
                        if response.status_code == 405:
                            break  # a URL forms post to: no page to read
                        if response.status_code != 200 or \
                                "text/html" not in response.get("Content-Type", ""):
                            continue
                        html = with_late_panels(client, response.content.decode())
                        if not html.lstrip().lower().startswith("<!doctype html>"):
                            # A panel's own URL answers its fragment: checked in a document.
                            html = FRAGMENT_PAGE.format(html)
                        label = f"{email or 'visitor'} {name} {path}"
                        file = folder / f"{len(files):04d}-{re.sub(r'[^a-z]+', '-', name)}.html"
                        file.write_text(html)
                        files[str(file)] = label
                        if email != "admin@example.com":
                            break  # the other roles: one of each page
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
    return files


def nu_check(files):
    """The checker's errors, run once over all the files: [(file, line, message, extract)]."""
    java = shutil.which("java")
    if not VNU.is_file() or not java:
        pytest.fail(f"The Nu HTML Checker needs Java and {VNU}: run `npm ci` (make test does "
                    "it).", pytrace=False)
    # The quick compiler only and the serial collector: one short run over a few hundred
    # files spends less than half the CPU (2.7 s against 6.2 s) and finishes sooner.
    result = subprocess.run([java, "-Xss4m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                             "-jar", str(VNU), "--errors-only", "--format", "json",
                             "--exit-zero-always", "--stdout", *files],
                            capture_output=True, text=True, timeout=600, check=True)
    messages = json.loads(result.stdout)["messages"]
    return [(m["url"].removeprefix("file:"), m.get("lastLine"), m["message"],
             m.get("extract", "").strip()) for m in messages if m["type"] == "error"]


def test_every_page_each_role_sees_is_valid_html(rendered_pages):
    # The walk reaches the pages of every area, for every role.
    labels = list(rendered_pages.values())
    for must in ("studies:study_overview", "billing:payments", "scheduling:booking",
                 "participants:applicant_profile", "sandbox:console", "login"):
        assert any(f" {must} " in label for label in labels), must
    assert len(rendered_pages) > 100

    errors = nu_check(list(rendered_pages))
    # One line per kind of error (quoted values folded), with how often and a first example.
    kinds = {}
    for file, line, message, extract in errors:
        kind = re.sub(r"“[^”]*”", "“…”", message)
        kinds.setdefault(kind, []).append(f"{rendered_pages.get(file, file)} line {line}: "
                                          f"{message}\n      {extract}")
    report = "\n".join(f"{len(found)} × {kind}\n    e.g. {found[0]}"
                       for kind, found in sorted(kinds.items(), key=lambda k: -len(k[1])))
    assert not errors, f"{len(errors)} HTML errors on {len({e[0] for e in errors})} of " \
                       f"{len(rendered_pages)} pages:\n{report}"


def test_the_checker_finds_an_error_when_there_is_one(tmp_path):
    """The check can fail: a page with the kind of mistake it exists to catch."""
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><html lang="en"><head><title>x</title></head><body>'
                    '<time datetime="2026-12-05T10:15:00.123456+00:00">now</time>'
                    '<div hx-get="/x">y</div></body></html>')
    messages = [message for _, _, message, _ in nu_check([str(page)])]
    assert any("datetime" in message for message in messages), messages
    assert any("hx-get" in message for message in messages), messages
