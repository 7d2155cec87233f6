"""Reads on recruitment that several overview panels share."""

from recruitment.models import Recruitment


def recruitment_of(study):
    """The study's Recruitment, or None; fetched once per study object (the overview's
    panels all ask)."""
    if not hasattr(study, "_recruitment_of"):
        study._recruitment_of = Recruitment.objects.filter(study=study).first()
    return study._recruitment_of
