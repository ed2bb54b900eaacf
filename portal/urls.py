from django.urls import path

from portal import api, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("i/<str:token>/", views.link, name="link"),
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("intent/", views.intent, name="intent"),
    path("questions/", views.questions, name="questions"),
    path("uploads/", views.upload, name="uploads"),
    path("packets/<int:packet_id>/<str:part>/", views.download, name="download"),
    path("agreements/", views.agreements, name="agreements"),
    path("agreements/<int:agreement_id>/sign/", views.agreement_sign, name="agreement-sign"),
    path("notices/<int:notice_id>/", views.notice, name="notice"),
    # The portal's API: authenticated by the portal session only (portal.api.PortalSessionAuthentication).
    path("api/overview/", api.OverviewView.as_view(), name="api-overview"),
    path("api/intent/", api.IntentView.as_view(), name="api-intent"),
    path("api/questions/", api.QuestionsView.as_view(), name="api-questions"),
    path("api/uploads/", api.UploadsView.as_view(), name="api-uploads"),
    path("api/packets/<int:packet_id>/<str:part>/", api.DownloadView.as_view(), name="api-download"),
]
