from django.urls import path

from vendors import views

app_name = "vendors"
urlpatterns = [
    path("", views.vendor_list, name="list"),
    path("new/", views.vendor_edit, name="create"),
    path("<int:pk>/", views.vendor_detail, name="detail"),
    path("<int:pk>/edit/", views.vendor_edit, name="edit"),
    path("<int:vendor_pk>/sites/new/", views.site_edit, name="site-create"),
    path("sites/<int:pk>/", views.site_detail, name="site"),
    path("sites/<int:pk>/edit/", views.site_edit, name="site-edit"),
    path("sites/<int:pk>/records/<slug:kind>/", views.site_record_add, name="site-record-add"),
    path("sites/<int:pk>/qualifications/", views.site_qualification_record, name="site-qualification"),
    path("sites/<int:site_pk>/inspections/new/", views.inspection_edit, name="inspection-create"),
    path("inspections/", views.inspection_list, name="inspections"),
    path("inspections/<int:pk>/edit/", views.inspection_edit, name="inspection-edit"),
    path("imports/", views.import_list, name="imports"),
    path("imports/<int:pk>/", views.import_detail, name="import"),
    path("imports/<int:pk>/confirm/", views.import_confirm, name="import-confirm"),
]
