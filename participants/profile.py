"""Panels on an applicant's profile that higher apps add without participants importing them.

`register_profile_panel("test_completion", 10, provider)` adds a panel, where
provider(request, study, application) returns (template_name, context) or None (nothing to
show for this applicant). The scheduling app shows an Unmoderated Test completion this way.
"""

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

_panels = {}


def register_profile_panel(key, order, provider):
    """Add a panel to the applicant profile (a key registered again replaces its panel)."""
    _panels[key] = (order, provider)


def profile_panels(request, study, application):
    """The rendered HTML of every registered panel with something to show, in order."""
    rendered = []
    for _, (_order, provider) in sorted(_panels.items(), key=lambda item: (item[1][0], item[0])):
        result = provider(request, study, application)
        if result is None:
            continue
        template_name, context = result
        rendered.append(mark_safe(render_to_string(  # noqa: S308 - our own rendered template
            template_name, {"study": study, "application": application, **context},
            request=request)))
    return rendered
