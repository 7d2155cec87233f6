"""The criteria catalog as User Interviews lists it, copied into Rally (studies owns the
local catalog; this reads UI's characteristics and hands them over)."""

from recruitment.connections import catalog_client
from studies.services import characteristics_replace


class EmptyCatalog(Exception):
    """UI listed no characteristics at all: surely a fault there, so the local one is kept."""


def criteria_catalog_sync(*, client=None):
    """Make the local criteria catalog equal to UI's `characteristics` (every page).

    UI is read first with no transaction open; `characteristics_replace` then writes the
    whole catalog in one transaction. Returns its summary ({"synced", "removed"}).
    """
    owned = client is None
    client = client or catalog_client()
    try:
        characteristics = client.characteristics_list()
    finally:
        if owned:
            client.close()
    if not characteristics:
        raise EmptyCatalog("User Interviews listed no characteristics; keeping the catalog.")
    return characteristics_replace(items=[
        {"slug": item.slug, "name": item.name, "category": item.category.value,
         "type": item.type.value,
         "audience_types": [audience.value for audience in item.audience_types],
         "choices": [{"id": choice.id, "label": choice.label} for choice in item.choices],
         "range": item.range.to_wire() if item.range else None}
        for item in characteristics])
