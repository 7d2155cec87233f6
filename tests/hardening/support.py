"""Shared by the hardening tests: a fingerprint of everything Rally stores, and the demo
workspace as a world to fuzz (every kind of object a URL can name)."""

import os
import uuid
from decimal import Decimal
from html.parser import HTMLParser

from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

# Sandbox is User Interviews' stand-in, not Rally: its tables are not part of the fingerprint.
RALLY_APPS = ("rally", "billing", "studies", "participants", "scheduling", "recruitment",
              "panel")


def _tables():
    tables = set()
    for label in RALLY_APPS:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        for model in config.get_models(include_auto_created=True):
            tables.add(model._meta.db_table)
    return sorted(tables)


def fingerprint():
    """{table: digest of every row}: equal fingerprints mean nothing stored changed. One query."""
    tables = _tables()
    quote = connection.ops.quote_name
    # Table names come from the models, never from input.
    sql = " UNION ALL ".join(
        f"SELECT '{table}', count(*), "  # noqa: S608
        f"md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {quote(table)} t"
        for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {table: (count, digest) for table, count, digest in cursor.fetchall()}


def changed_tables(before, after):
    return sorted(table for table in after if before.get(table) != after[table])


def activity_count():
    from rally.models import ActivityEntry

    return ActivityEntry.objects.count()


def demo_money_added(admin):
    """What seed_demo's workspace lacks for its money pages: a study with a reservation and
    two due payouts, and a closed study with its receipt. (budget, reserved, closed, receipt)."""
    from billing.models import Budget
    from billing.services import budget_reserve_for_study, reservation_close
    from tests.billing.payouts_support import due_payouts
    from tests.participants.factories import StudyFactory

    workspace = admin.workspace
    budget = Budget.objects.get(workspace=workspace, name="Workspace Budget")
    reserved = StudyFactory(workspace=workspace, owner=admin.user, name="Pricing page interviews",
                            participation_limit=4, incentive_amount=Decimal("50.00"))
    budget_reserve_for_study(budget=budget, study_id=reserved.pk, study_name=reserved.name,
                             participation_limit=4, fee=Decimal("65.00"),
                             incentive=Decimal("50.00"), actor=admin.user)
    due_payouts(reserved, 2)
    closed = StudyFactory(workspace=workspace, owner=admin.user, name="Billing export interviews",
                          status="closed", participation_limit=2)
    budget_reserve_for_study(budget=budget, study_id=closed.pk, study_name=closed.name,
                             participation_limit=2, fee=Decimal("65.00"),
                             incentive=Decimal("100.00"), actor=admin.user)
    receipt = reservation_close(study_id=closed.pk, actor=admin.user)
    return budget, reserved, closed, receipt


def demo_world():
    """seed_demo's workspace without the sandbox round trip, the criteria catalog, and what the
    demo lacks: a reservation with due payouts, a closed study with its receipt, an outbox row.
    Returns (admin membership, {URL parameter name: candidate values})."""
    from billing.models import Budget, Payout
    from participants.models import Application, Participant, PeopleImport, Segment
    from rally.models import Membership, OutboxOperation, PropertyDefinition
    from rally.services import outbox_enqueue
    from scheduling.models import Session
    from scheduling.services import booking_token_make, scheduling_settings_ensure
    from studies.models import ScreenerQuestion, Study, StudyType, TestTask
    from studies.services import characteristics_replace
    from tests.studies.factories import CATALOG

    with override_settings(DEBUG=True, SANDBOX_ENABLED=False):
        call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    characteristics_replace(items=CATALOG)
    admin = Membership.objects.select_related("workspace", "user").get(
        user__email="admin@example.com")
    workspace = admin.workspace
    *_, receipt = demo_money_added(admin)
    # Scheduling settings are made on a moderated study's first visit: make them now, so
    # that a refused request later is not mistaken for one that changed something.
    for study in Study.objects.filter(workspace=workspace, study_type__in=[
            StudyType.INTERVIEW, StudyType.GROUP_INTERVIEW]):
        scheduling_settings_ensure(study=study)
    applications = list(Application.objects.filter(study__workspace=workspace))
    failed = outbox_enqueue(workspace=workspace, operation="approve_applicant",
                            subject=applications[0].pk, study_id=applications[0].study_id,
                            payload={"application_id": str(applications[0].pk)})
    OutboxOperation.objects.filter(pk=failed.pk).update(status="failed", last_error="Refused")
    invited = [a for a in applications if a.status == "invited"]
    other = uuid.uuid4()
    def pks(queryset, field="pk"):
        return [*queryset.values_list(field, flat=True), other]

    candidates = {
        "study_id": pks(Study.objects.filter(workspace=workspace)),
        "application_id": [*(a.pk for a in applications[:6]), other],
        "question_uid": pks(ScreenerQuestion.objects.filter(study__workspace=workspace)[:4],
                            "uid"),
        "session_id": pks(Session.objects.filter(workspace=workspace)),
        "payout_id": pks(Payout.objects.filter(workspace=workspace)),
        "budget_id": pks(Budget.objects.filter(workspace=workspace)),
        "receipt_id": [receipt.pk, other],
        "membership_id": pks(Membership.objects.filter(workspace=workspace)),
        "operation_id": pks(OutboxOperation.objects.filter(workspace=workspace)),
        "token": [*(booking_token_make(a) for a in invited[:1]), "not-a-token", "x" * 300],
        "slug": ["job-function", "no-such-characteristic"],
        "uidb64": ["MQ", "!!"],
        # The panel's objects, when the demo has them.
        "participant_id": pks(Participant.objects.filter(workspace=workspace)[:4]),
        "segment_id": pks(Segment.objects.filter(workspace=workspace)),
        "definition_id": pks(PropertyDefinition.objects.filter(workspace=workspace)[:4]),
        "import_id": pks(PeopleImport.objects.filter(workspace=workspace)),
        "task_id": pks(TestTask.objects.filter(study__workspace=workspace)[:4]),
    }
    return admin, candidates


class FormScraper(HTMLParser):
    """The POST forms of a page: {action: {field name: [default values]}}."""

    def __init__(self, page_path):
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms = {}  # form id (or a counter) → (action, {name: [values]})
        self.current = None
        self.textarea = None
        self.select = None
        self.count = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.count += 1
            key = attrs.get("id") or f"#{self.count}"
            method = (attrs.get("method") or "get").lower()
            self.forms[key] = (attrs.get("action") or self.page_path, {}, method)
            self.current = key
            return
        name = attrs.get("name")
        owner = attrs.get("form") or self.current
        if owner not in self.forms or not name or name == "csrfmiddlewaretoken":
            return
        fields = self.forms[owner][1]
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                fields.setdefault(name, [])
                return
            fields.setdefault(name, []).append(attrs.get("value", "on" if kind == "checkbox"
                                                         else ""))
        elif tag == "textarea":
            fields.setdefault(name, [])
            self.textarea = (fields, name)
        elif tag == "select":
            fields.setdefault(name, [])
            self.select = (fields, name, [])
        elif tag == "button" and attrs.get("value") is not None:
            fields.setdefault(name, []).append(attrs["value"])
        if tag == "option" and self.select is not None:
            self.select[2].append((attrs.get("value", ""), "selected" in attrs))

    def handle_data(self, data):
        if self.textarea is not None:
            fields, name = self.textarea
            fields[name] = [data]

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select" and self.select is not None:
            fields, name, options = self.select
            chosen = [value for value, selected in options if selected] or [
                value for value, _ in options[:1]]
            fields[name] = chosen
            self.select = None

    def post_forms(self):
        return [(action, fields) for action, fields, method in self.forms.values()
                if method == "post"]
