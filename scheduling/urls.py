"""The scheduling app's own URLs, those outside the study page. recruitment.study_page, which
declares every `studies/<uuid>/…` URL, includes these once with its own under `scheduling:`."""

from django.urls import path

from scheduling import views

urlpatterns = [
    path("book/<str:token>/", views.booking, name="booking"),
    path("sessions/<uuid:session_id>/mark/", views.session_mark, name="session_mark"),
    path("sessions/<uuid:session_id>/complete-and-pay/", views.session_complete_and_pay,
         name="session_complete_and_pay"),
    path("sessions/<uuid:session_id>/cancel/", views.session_cancel_by_host,
         name="session_cancel_by_host"),
    path("calendar/", views.calendar, name="calendar"),
    path("account/calendar/", views.account_calendar, name="account_calendar"),
    path("account/calendar/refresh/", views.account_calendar_refresh,
         name="account_calendar_refresh"),
    path("account/calendar/disconnect/", views.account_calendar_disconnect,
         name="account_calendar_disconnect"),
    path("account/calendar/write-back/", views.account_calendar_write_back,
         name="account_calendar_write_back"),
]
