from django.urls import path

from scoring import views

app_name = "scoring"
urlpatterns = [
    path("", views.evaluation_list, name="list"),
    path("new/", views.evaluation_create, name="create"),
    path("<int:pk>/", views.evaluation_detail, name="evaluation"),
    path("<int:pk>/vendor-search/", views.vendor_search, name="vendor-search"),
    path("<int:pk>/transition/<str:action>/", views.evaluation_transition, name="transition"),
    path("<int:pk>/review/", views.review_confirm, name="review-confirm"),
    path("<int:pk>/candidates/", views.candidate_add, name="candidate-add"),
    path("<int:pk>/knockouts/", views.knockouts_set, name="knockouts"),
    path("<int:pk>/steps/", views.step_add, name="step-add"),
    path("<int:pk>/steps/<int:step_id>/remove/", views.step_remove, name="step-remove"),
    path("<int:pk>/candidates/<int:candidate_id>/sites/", views.candidate_sites, name="candidate-sites"),
    path("<int:pk>/knockouts/override/", views.knockout_override, name="knockout-override"),
    path("<int:pk>/criteria/", views.criterion_add, name="criterion-add"),
    path("<int:pk>/criteria/<int:criterion_id>/", views.criterion_update, name="criterion-update"),
    path("<int:pk>/criteria/<int:criterion_id>/remove/", views.criterion_remove, name="criterion-remove"),
    path("<int:pk>/weights/direct/", views.weights_direct, name="weights-direct"),
    path("<int:pk>/weights/ahp/", views.weights_ahp, name="weights-ahp"),
    path("<int:pk>/overrides/", views.derived_override, name="derived-override"),
    path("<int:pk>/ranking/", views.ranking_page, name="ranking"),
    path("<int:pk>/sensitivity/", views.sensitivity_page, name="sensitivity"),
    path("<int:pk>/compare/", views.compare_page, name="compare"),
    path("<int:pk>/score/", views.scoring_grid, name="grid"),
    path("<int:pk>/score/cell/", views.score_cell, name="cell"),
    path("<int:pk>/score/submit/", views.submit_scores, name="submit"),
    path("<int:pk>/shortlist/", views.shortlist_page, name="shortlists"),
    path("<int:pk>/shortlist/<int:shortlist_pk>/", views.shortlist_detail, name="shortlist"),
]
