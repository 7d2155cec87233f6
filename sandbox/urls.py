"""The sandbox's URLs: the UI API under sandbox/ui/api/, its controls, and the console."""

from django.urls import path, re_path

from sandbox import api, calendar_feed, console

app_name = "sandbox"

API = "sandbox/ui/api/"
CONTROL = f"{API}_sandbox/"
RECRUIT_ACTIONS = "launches|pauses|resumptions|closures"
SESSION_ACTIONS = "completions|no_shows|cancellations|reschedules"
ID = r"(?P<{}>[A-Za-z0-9_-]{{1,60}})"

urlpatterns = [
    path(f"{API}characteristics", api.characteristics, name="api_characteristics"),
    path(f"{API}estimates", api.estimates, name="api_estimates"),
    path(f"{API}recruits", api.recruits, name="api_recruits"),
    re_path(rf"^{API}recruits/{ID.format('recruit_id')}$", api.recruit, name="api_recruit"),
    re_path(rf"^{API}recruits/{ID.format('recruit_id')}/(?P<action>{RECRUIT_ACTIONS})$",
            api.recruit_action, name="api_recruit_action"),
    re_path(rf"^{API}recruits/{ID.format('recruit_id')}/intake$", api.recruit_intake,
            name="api_recruit_intake"),
    re_path(rf"^{API}recruits/{ID.format('recruit_id')}/applicants$", api.recruit_applicants,
            name="api_recruit_applicants"),
    re_path(rf"^{API}recruits/{ID.format('recruit_id')}/sessions$", api.recruit_sessions,
            name="api_recruit_sessions"),
    re_path(rf"^{API}recruits/{ID.format('recruit_id')}/payments$", api.recruit_payments,
            name="api_recruit_payments"),
    re_path(rf"^{API}applicants/{ID.format('applicant_id')}$", api.applicant,
            name="api_applicant"),
    re_path(rf"^{API}applicants/{ID.format('applicant_id')}/approvals$",
            api.applicant_approvals, name="api_applicant_approvals"),
    re_path(rf"^{API}applicants/{ID.format('applicant_id')}/rejections$",
            api.applicant_rejections, name="api_applicant_rejections"),
    re_path(rf"^{API}sessions/{ID.format('session_id')}$", api.session, name="api_session"),
    re_path(rf"^{API}sessions/{ID.format('session_id')}/(?P<action>{SESSION_ACTIONS})$",
            api.session_action, name="api_session_action"),
    re_path(rf"^{API}sessions/{ID.format('session_id')}/payments$", api.session_payments,
            name="api_session_payments"),
    path(f"{API}payments", api.payments, name="api_payments"),
    re_path(rf"^{API}payments/{ID.format('payment_id')}$", api.payment, name="api_payment"),
    path(f"{API}webhook_subscriptions", api.subscriptions, name="api_subscriptions"),
    re_path(rf"^{API}webhook_subscriptions/{ID.format('subscription_id')}$", api.subscription,
            name="api_subscription"),
    re_path(rf"^{API}webhook_subscriptions/{ID.format('subscription_id')}/secret_rotations$",
            api.subscription_secret_rotations, name="api_subscription_secret_rotations"),
    re_path(rf"^{API}webhook_subscriptions/{ID.format('subscription_id')}/tests$",
            api.subscription_tests, name="api_subscription_tests"),
    re_path(rf"^{API}webhook_subscriptions/{ID.format('subscription_id')}/deliveries$",
            api.subscription_deliveries, name="api_subscription_deliveries"),
    # Sandbox-only controls
    re_path(rf"^{CONTROL}recruits/{ID.format('recruit_id')}/review$", api.control_review,
            name="control_review"),
    re_path(rf"^{CONTROL}recruits/{ID.format('recruit_id')}/applicants$",
            api.control_applicants, name="control_applicants"),
    re_path(rf"^{CONTROL}recruits/{ID.format('recruit_id')}/history$", api.control_history,
            name="control_history"),
    re_path(rf"^{CONTROL}applicants/{ID.format('applicant_id')}/book$", api.control_book,
            name="control_book"),
    re_path(rf"^{CONTROL}applicants/{ID.format('applicant_id')}/submit$", api.control_submit,
            name="control_submit"),
    path(f"{CONTROL}clock", api.control_clock, name="control_clock"),
    path(f"{CONTROL}faults", api.control_faults, name="control_faults"),
    path(f"{CONTROL}reset", api.control_reset, name="control_reset"),
    path(f"{CONTROL}tick", api.control_tick, name="control_tick"),
    re_path(rf"^{API}(?P<unknown>.*)$", api.not_found_view, name="api_not_found"),
    # The console and UI's public application page
    path("sandbox/", console.index, name="console"),
    path("sandbox/act/", console.act, name="console_act"),
    path("sandbox/apply/<str:recruit_id>", console.apply, name="apply"),
    # A demo host's own calendar, as the feed a calendar product would publish
    path("sandbox/calendars/<slug:name>.ics", calendar_feed.calendar_feed,
         name="calendar_feed"),
]
