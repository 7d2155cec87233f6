"""People who take part in studies, and the review of their applications (SPEC P)."""

from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    name = "participants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from participants import (
            review,
            tasks,  # noqa: F401 - registers the import tasks
        )
        from studies import pages

        pages.register_tab("participants", label="Participants",
                           url_name="participants:study_participants", order=60)
        pages.register_list_column(
            "applicants", label="Applicants", order=10,
            annotate=review.studies_with_applicant_counts,
            value=lambda study: study.applicant_count)
        pages.register_list_column(
            "seats", label="Seats taken", order=20, annotate=lambda studies: studies,
            value=lambda study: study.seats_taken)

