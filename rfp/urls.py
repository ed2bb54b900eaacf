from django.urls import path

from rfp import views

app_name = "rfp"
urlpatterns = [
    path("", views.rfp_list, name="list"),
    path("templates/", views.template_list, name="templates"),
    path("new/<int:shortlist_pk>/", views.rfp_create, name="create"),
    path("<int:pk>/", views.rfp_detail, name="detail"),
    path("<int:pk>/edit/", views.rfp_edit, name="edit"),
    path("<int:pk>/progress/", views.rfp_progress, name="progress"),
    path("<int:pk>/download-all/", views.rfp_download_all, name="download-all"),
    # The page's operations (POST), one URL each as in the API.
    path("<int:pk>/generate/", views.rfp_generate, name="generate"),
    path("<int:pk>/attachments/", views.attachment_add, name="attachments"),
    path("<int:pk>/packets/<int:packet_pk>/retry/", views.packet_retry, name="packet-retry"),
    path("<int:pk>/proposals/", views.proposal_record, name="proposals"),
    path("<int:pk>/proposals/<int:proposal_pk>/documents/", views.proposal_document_add, name="proposal-documents"),
    path("<int:pk>/questions/", views.question_record, name="questions"),
    path("<int:pk>/questions/<int:question_pk>/answer/", views.question_answer, name="question-answer"),
    path("<int:pk>/invitations/", views.invitation_add, name="invitations"),
    path("<int:pk>/invitations/<int:invitation_pk>/resend/", views.invitation_resend, name="invitation-resend"),
    path("<int:pk>/invitations/<int:invitation_pk>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("<int:pk>/extensions/", views.extension_grant, name="extensions"),
    path("<int:pk>/open/", views.proposals_open, name="open"),
    path("<int:pk>/record.pdf", views.rfp_record_pdf, name="record-pdf"),
    path("<int:pk>/sealed/<int:upload_pk>/", views.sealed_file, name="sealed-file"),
    path("packets/<int:pk>/<str:kind>/", views.packet_download, name="packet-download"),
    path("proposal-documents/<int:pk>/", views.proposal_document, name="proposal-document"),
]
