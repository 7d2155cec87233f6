"""Panels on an applicant's profile that higher apps provide (an Unmoderated Test
completion from scheduling, say). They are declared with the rest of the study page in the
top layer (`StudyPage.profile_panels`, see studies.pages): provider(request, study,
application) returns (template_name, context) or None (nothing to show for this applicant).
"""

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from studies.pages import study_page


def profile_panels(request, study, application):
    """The rendered HTML of every declared panel with something to show, in order."""
    rendered = []
    for panel in sorted(study_page().profile_panels, key=lambda part: (part.order, part.key)):
        result = panel(request, study, application)
        if result is None:
            continue
        template_name, context = result
        rendered.append(mark_safe(render_to_string(  # noqa: S308 - our own rendered template
            template_name, {"study": study, "application": application, **context},
            request=request)))
    return rendered
