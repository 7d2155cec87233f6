from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import include, path

from rally import account_views, notification_views, views

handler400 = "rally.views.error_400"
handler403 = "rally.views.error_403"
handler404 = "rally.views.error_404"
handler500 = "rally.views.error_500"

urlpatterns = [
    # The Dashboard reads every app and sign-up runs a workflow that spans apps, so the top
    # layer declares both (recruitment.site_urls).
    path("", include("recruitment.site_urls")),
    path("login/", views.login_view, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.ThrottledPasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(),
         name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    path("workspace/switch/", views.workspace_switch, name="workspace_switch"),
    path("activity/export.csv", views.activity_csv, name="activity_csv"),
    path("workspace/settings/", views.workspace_settings, name="workspace_settings"),
    path("workspace/settings/name/", views.workspace_rename, name="workspace_rename"),
    path("workspace/members/<uuid:membership_id>/role/", views.member_change_role,
         name="member_change_role"),
    path("workspace/members/<uuid:membership_id>/remove/", views.member_remove,
         name="member_remove"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/bell/", notification_views.notification_bell,
         name="notification_bell"),
    path("notifications/read/", notification_views.notifications_mark_all_read,
         name="notifications_mark_all_read"),
    path("notifications/<uuid:notification_id>/open/", notification_views.notification_open,
         name="notification_open"),
    path("notifications/<uuid:notification_id>/read/",
         notification_views.notification_mark_read, name="notification_mark_read"),
    path("account/", account_views.account_settings, name="account_settings"),
    path("account/profile/", account_views.account_profile, name="account_profile"),
    path("account/password/", account_views.account_password, name="account_password"),
    path("account/notifications/", account_views.account_notifications,
         name="account_notifications"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("", include("billing.urls")),
    # The study page's owner declares every studies/<uuid>/… URL and includes the studies,
    # participants, scheduling, recruitment and panel namespaces, each once. No two patterns
    # answer the same path, so the order of these includes decides nothing.
    path("", include("recruitment.study_page")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("", include("sandbox.urls")))
