from django.urls import path

from oversight import views, views_qa

app_name = "oversight"
urlpatterns = [
    # --- supplier performance and scorecards (views in oversight/views.py) ---
    path("performance/", views.performance_list, name="performance-list"),
    path("performance/new/", views.performance_create, name="performance-create"),
    path("performance/import/", views.performance_import, name="performance-import"),
    path("performance/<int:pk>/", views.performance_edit, name="performance-edit"),
    path("performance/kpis/", views.threshold_list, name="thresholds"),
    path("performance/standing-rules/", views.standing_rules, name="standing-rules"),
    path("sites/<int:site_id>/scorecard/", views.scorecard, name="scorecard"),
    path("sites/<int:site_id>/scorecard.pdf", views.scorecard_pdf, name="scorecard-pdf"),
    # --- quality agreements and risk-based requalification (views in oversight/views_qa.py) ---
    path("agreements/", views_qa.agreement_list, name="agreements"),
    path("agreements/new/", views_qa.agreement_create, name="agreement-create"),
    path("agreements/<int:pk>/", views_qa.agreement_detail, name="agreement"),
    path("agreements/<int:pk>/lines/", views_qa.agreement_lines, name="agreement-lines"),
    path("agreements/<int:pk>/sign/", views_qa.agreement_sign, name="agreement-sign"),
    path("agreements/<int:pk>/new-version/", views_qa.agreement_new_version, name="agreement-new-version"),
    path("agreements/<int:pk>/vendor-copy/", views_qa.agreement_vendor_copy, name="agreement-vendor-copy"),
    path("agreements/<int:pk>/vendor-copy.pdf", views_qa.agreement_vendor_document, name="agreement-vendor-document"),
    path("agreements/<int:pk>/agreement.pdf", views_qa.agreement_pdf, name="agreement-pdf"),
    path("sites/<int:site_id>/risk/", views_qa.site_risk, name="site-risk"),
    path("risk-matrix/", views_qa.risk_matrix, name="risk-matrix"),
]
