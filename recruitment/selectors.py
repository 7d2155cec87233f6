"""Reads on recruitment that several overview panels share."""

from recruitment.models import Recruitment


def recruitment_of(study):
    """The study's Recruitment, or None; fetched once per study object (the overview's
    panels all ask)."""
    if not hasattr(study, "_recruitment_of"):
        study._recruitment_of = Recruitment.objects.filter(study=study).first()
        # `study.recruitment` answers from this read too, also when there is none (assigning
        # None to the reverse one-to-one would not remember that, and it would query).
        Recruitment.study.field.remote_field.set_cached_value(study, study._recruitment_of)
    return study._recruitment_of
