"""Criteria catalog sync: UI's characteristics become the local catalog."""

import httpx
import pytest
from django.core.management import CommandError, call_command

from recruitment.criteria_catalog import EmptyCatalog, criteria_catalog_sync
from recruitment.user_interviews.client import MEDIA_TYPE, UIClient
from studies.models import Characteristic

INDUSTRY = {"id": "industry", "type": "characteristics", "attributes": {
    "slug": "industry", "name": "Industry", "valueType": "single_select",
    "category": "professional", "audienceTypes": ["b2b"],
    "choices": [{"id": "healthcare", "label": "Healthcare"},
                {"id": "finance", "label": "Finance"}]}}
AGE = {"id": "age", "type": "characteristics", "attributes": {
    "slug": "age", "name": "Age", "valueType": "range", "category": "demographic",
    "audienceTypes": ["b2c", "b2b"], "range": {"min": 18, "max": 99}}}


def catalog_client(*pages):
    """A client over a transport that serves `pages` (lists of characteristics) in order."""
    def answer(request):
        number = int(request.url.params["page[number]"])
        items = pages[number - 1]
        return httpx.Response(200, headers={"Content-Type": MEDIA_TYPE}, json={
            "data": items, "links": {},
            "meta": {"pagination": {"currentPage": number, "pageSize": 200,
                                    "totalPages": len(pages),
                                    "totalCount": sum(map(len, pages))}}})
    return UIClient(base_url="http://ui.test/api", api_key="k",
                    transport=httpx.MockTransport(answer), sleep=lambda s: None)


@pytest.mark.django_db
def test_sync_writes_every_page_of_the_catalog():
    summary = criteria_catalog_sync(client=catalog_client([INDUSTRY], [AGE]))
    assert summary == {"synced": 2, "removed": 0}
    industry = Characteristic.objects.get(slug="industry")
    assert industry.audience_types == ["b2b"]
    assert [c.label for c in industry.choices.order_by("position")] == ["Healthcare", "Finance"]
    age = Characteristic.objects.get(slug="age")
    assert (age.range_min, age.range_max) == (18, 99)


@pytest.mark.django_db
def test_sync_removes_what_ui_no_longer_lists_and_is_repeatable():
    criteria_catalog_sync(client=catalog_client([INDUSTRY, AGE]))
    summary = criteria_catalog_sync(client=catalog_client([AGE]))
    assert summary == {"synced": 1, "removed": 1}
    assert list(Characteristic.objects.values_list("slug", flat=True)) == ["age"]


@pytest.mark.django_db
def test_an_empty_catalog_from_ui_keeps_the_local_one():
    criteria_catalog_sync(client=catalog_client([INDUSTRY]))
    with pytest.raises(EmptyCatalog):
        criteria_catalog_sync(client=catalog_client([]))
    assert Characteristic.objects.filter(slug="industry").exists()


@pytest.mark.django_db
def test_a_malformed_catalog_changes_nothing():
    criteria_catalog_sync(client=catalog_client([INDUSTRY]))
    broken = {**AGE, "attributes": {**AGE["attributes"], "valueType": "slider"}}
    with pytest.raises(Exception, match="slider"):
        criteria_catalog_sync(client=catalog_client([AGE, broken]))
    assert list(Characteristic.objects.values_list("slug", flat=True)) == ["industry"]


@pytest.mark.django_db
def test_sync_criteria_command_reports_and_fails_visibly(monkeypatch, capsys):
    monkeypatch.setattr(UIClient, "from_settings",
                        classmethod(lambda cls, **kw: catalog_client([INDUSTRY, AGE])))
    call_command("sync_criteria")
    assert "Synced 2 characteristics (0 removed)." in capsys.readouterr().out
    monkeypatch.setattr(UIClient, "from_settings",
                        classmethod(lambda cls, **kw: catalog_client([])))
    with pytest.raises(CommandError, match="Criteria not synced"):
        call_command("sync_criteria")
