from django.urls import path

from scoring import views

app_name = "scoring"
urlpatterns = [
    path("", views.evaluation_list, name="list"),
    path("new/", views.evaluation_create, name="create"),
    path("<int:pk>/", views.evaluation_detail, name="evaluation"),
    path("<int:pk>/vendor-search/", views.vendor_search, name="vendor-search"),
    path("<int:pk>/ranking/", views.ranking_page, name="ranking"),
    path("<int:pk>/sensitivity/", views.sensitivity_page, name="sensitivity"),
    path("<int:pk>/compare/", views.compare_page, name="compare"),
    path("<int:pk>/score/", views.scoring_grid, name="grid"),
    path("<int:pk>/score/cell/", views.score_cell, name="cell"),
    path("<int:pk>/score/submit/", views.submit_scores, name="submit"),
    path("<int:pk>/shortlist/", views.shortlist_page, name="shortlists"),
    path("<int:pk>/shortlist/<int:shortlist_pk>/", views.shortlist_detail, name="shortlist"),
]
