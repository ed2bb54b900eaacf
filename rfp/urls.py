from django.urls import path

from rfp import award_views, views

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
    path("<int:pk>/answers/", views.answers_page, name="answers"),
    path("<int:pk>/record.pdf", views.rfp_record_pdf, name="record-pdf"),
    # The comparison (rfp.comparison): total program costs and value for money; the lead's horizon and rates.
    path("<int:pk>/comparison/", views.comparison_page, name="comparison"),
    path("<int:pk>/comparison.xlsx", views.comparison_xlsx, name="comparison-xlsx"),
    path("<int:pk>/comparison.pdf", views.comparison_pdf, name="comparison-pdf"),
    path("<int:pk>/comparison/horizon/", views.horizon_set, name="horizon"),
    path("<int:pk>/comparison/rates/", views.rate_add, name="rates"),
    path("<int:pk>/comparison/rates/<int:rate_pk>/", views.rate_change, name="rate-change"),
    path("<int:pk>/comparison/rates/<int:rate_pk>/remove/", views.rate_remove, name="rate-remove"),
    path("<int:pk>/sealed/<int:upload_pk>/", views.sealed_file, name="sealed-file"),
    path("packets/<int:pk>/<str:kind>/", views.packet_download, name="packet-download"),
    path("proposal-documents/<int:pk>/", views.proposal_document, name="proposal-document"),
    # The award (rfp.awards): propose, submit, decide with a signature; the notices to the vendors.
    path("<int:pk>/award/", award_views.award_page, name="awards"),
    path("<int:pk>/award/propose/", award_views.award_propose, name="award-propose"),
    path("<int:pk>/award/<int:award_pk>/", award_views.award_detail, name="award"),
    path("<int:pk>/award/<int:award_pk>/submit/", award_views.award_submit, name="award-submit"),
    path("<int:pk>/award/<int:award_pk>/decide/", award_views.award_decide, name="award-decide"),
    path(
        "<int:pk>/award/<int:award_pk>/notices/<int:notice_pk>/retry/",
        award_views.notice_retry,
        name="award-notice-retry",
    ),
    path("award-notices/<int:pk>/", award_views.notice_pdf, name="award-notice"),
]
