"""Property definitions of the panel (SPEC Q3, P6): Admins and Ops Managers define them; a
type is locked once people have values; options in use stay."""

import pytest
from django.urls import reverse

from rally.models import ActivityEntry, PropertyDefinition
from rally.services import property_define
from tests.participants.factories import PanelPersonFactory

pytestmark = pytest.mark.django_db

PROPERTIES = reverse("participants:people_properties")


def edit_url(definition):
    return reverse("participants:people_property_edit", args=[definition.pk])


@pytest.mark.parametrize(("persona", "status"), [("admin", 200), ("ops_manager", 200),
                                                 ("researcher", 403), ("observer", 403)])
def test_who_manages_properties(client_for, personas, persona, status, workspace):
    definition = property_define(workspace=workspace, key="plan", label="Plan", type="text")
    client = client_for(personas[persona])
    assert client.get(PROPERTIES).status_code == status
    assert client.get(edit_url(definition)).status_code == status
    response = client.post(PROPERTIES, {"label": "Role", "type": "text"})
    assert response.status_code == (302 if status == 200 else 403)


def test_define_a_select_property_with_an_auto_key(client_for, admin, workspace):
    response = client_for(admin).post(PROPERTIES, {
        "label": "Company size", "key": "", "type": "single_select",
        "options": "1–10\n11–50\n\n51+\n11–50", "is_pii": ""})
    assert response.status_code == 302
    definition = PropertyDefinition.objects.get(workspace=workspace)
    assert definition.key == "company_size" and definition.type == "single_select"
    assert [o["label"] for o in definition.options] == ["1–10", "11–50", "51+"]
    assert len({o["uid"] for o in definition.options}) == 3
    assert ActivityEntry.objects.filter(action="participants.property_defined").exists()
    html = client_for(admin).get(PROPERTIES).content.decode()
    assert "Company size" in html and "company_size" in html


@pytest.mark.parametrize(("data", "message"), [
    ({"label": "", "type": "text"}, "This field is required"),
    ({"label": "Tier", "type": "single_select", "options": ""}, "at least one option"),
    ({"label": "Plan", "type": "text", "key": "plan"}, "exists already"),
    ({"label": "Mail", "type": "text", "key": "email"}, "a field every person has"),
    ({"label": "X", "type": "colour"}, "Select a valid choice"),
])
def test_bad_definitions_are_refused(client_for, admin, workspace, data, message):
    property_define(workspace=workspace, key="plan", label="Plan", type="text")
    response = client_for(admin).post(PROPERTIES, data)
    assert response.status_code == 400 and message in response.content.decode()
    assert PropertyDefinition.objects.count() == 1


def test_label_options_and_pii_change_type_only_without_values(client_for, admin, workspace):
    definition = property_define(workspace=workspace, key="plan", label="Plan",
                                 type="single_select", options=["Free", "Pro"])
    client = client_for(admin)
    # No values yet: everything may change, the type too.
    response = client.post(edit_url(definition), {"label": "Tier", "type": "multi_select",
                                                  "options": "Free\nPro\nTeam",
                                                  "is_pii": "on"})
    assert response.status_code == 302
    definition.refresh_from_db()
    assert (definition.label, definition.type, definition.is_pii) == ("Tier", "multi_select",
                                                                      True)
    pro = next(o["uid"] for o in definition.options if o["label"] == "Pro")
    PanelPersonFactory(workspace=workspace, properties={"plan": [pro]})
    response = client.post(edit_url(definition), {"label": "Tier", "type": "text",
                                                  "options": ""})
    assert response.status_code == 400
    assert "its type can’t change" in response.content.decode()
    response = client.post(edit_url(definition), {"label": "Tier", "type": "multi_select",
                                                  "options": "Free\nTeam"})
    assert response.status_code == 400
    assert "People have the option Pro" in response.content.decode()
    # Renaming keeps the uid, removing an unused option is fine.
    response = client.post(edit_url(definition), {"label": "Tier", "type": "multi_select",
                                                  "options": "Pro\nTeam"})
    assert response.status_code == 302
    definition.refresh_from_db()
    assert [o["label"] for o in definition.options] == ["Pro", "Team"]
    assert definition.options[0]["uid"] == pro and definition.type == "multi_select"
    changes = ActivityEntry.objects.filter(action="participants.property_changed")
    assert changes.count() == 2


def test_editing_another_workspaces_property_is_404(client_for, outsider, workspace):
    definition = property_define(workspace=workspace, key="plan", label="Plan", type="text")
    assert client_for(outsider).get(edit_url(definition)).status_code == 404
