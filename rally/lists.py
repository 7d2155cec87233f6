"""Sortable, filterable, paginated list pages: the sort a page reads from its query string
and the links it writes back (sort headers, pages, filters), made one way for every list."""

from django.core.paginator import Paginator
from django.utils.http import urlencode


def sort_param(value, *, allowed, default):
    """`value` ("key" ascending, "-key" descending) when its key is in `allowed`, else
    `default`: an unknown or stale key in a URL shows the list in its usual order."""
    value = str(value or "")
    return value if value.removeprefix("-") in allowed else default


def page_of(rows, params, per_page):
    """The page the query string asks for (the last one past the end, the first for
    garbage), as Paginator.get_page answers."""
    return Paginator(rows, per_page).get_page(params.get("page"))


class ListQuery:
    """A list's query string: its parameters in URL order (a list value repeats its name),
    the sort among them. Links leave out empty values, the default sort and page 1, so the
    plain list has the plain URL."""

    def __init__(self, path, params, *, sort_name="sort", default_sort):
        self.path = path
        self.params = dict(params)
        self.sort_name = sort_name
        self.default_sort = default_sort

    @property
    def sort(self):
        return self.params.get(self.sort_name) or self.default_sort

    @property
    def sort_key(self):
        return self.sort.removeprefix("-")

    @property
    def descending(self):
        return self.sort.startswith("-")

    def pairs(self, **changes):
        """(name, value) pairs of the query with `changes` (a name set to None or "" goes);
        a page number comes last, and only past the first page."""
        values = {**self.params, **changes}
        page = values.pop("page", None)
        pairs = []
        for name, value in values.items():
            if name == self.sort_name and value == self.default_sort:
                continue
            for each in value if isinstance(value, list | tuple) else [value]:
                if each is not None and each != "":
                    pairs.append((name, each))
        if page and page > 1:
            pairs.append(("page", page))
        return pairs

    def url(self, **changes):
        pairs = self.pairs(**changes)
        return f"{self.path}?{urlencode(pairs)}" if pairs else self.path

    def sort_link(self, key, label="", *, descending_first=False):
        """A column header: its label, `aria-sort` when the list is sorted by it, and the URL
        that sorts by it from the first page (ascending first, or descending first for
        `descending_first`, such as dates shown newest first; again on the current column,
        the other way)."""
        current = self.sort_key == key
        descending = current and self.descending
        if current:
            sort = key if descending else f"-{key}"
        else:
            sort = f"-{key}" if descending_first else key
        return {"label": label,
                "aria_sort": ("descending" if descending else "ascending") if current else None,
                "url": self.url(page=None, **{self.sort_name: sort})}

    def page_links(self, page):
        """"Previous" and "Next" for a Paginator page (None at either end)."""
        return {"previous": self.url(page=page.previous_page_number())
                if page.has_previous() else None,
                "next": self.url(page=page.next_page_number()) if page.has_next() else None}
