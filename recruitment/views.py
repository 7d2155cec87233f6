"""Recruitment pages: the Audience Reach region the study's Audience tab loads with htmx."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from rally.permissions import Permission
from recruitment.reach import audience_reach as reach_for_study
from studies.selectors import get_study_for_user


@login_required
@require_GET
def audience_reach(request, study_id):
    study = get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    return render(request, "recruitment/reach_panel.html",
                  {"study": study, "reach": reach_for_study(study=study)})
