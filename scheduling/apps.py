"""Time with people: availability, slots, sessions, bookings and the booking page."""
from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from scheduling.services import scheduling_settings_copy
        from studies import services

        services.on_copy(scheduling_settings_copy)
