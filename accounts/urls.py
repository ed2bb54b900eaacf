from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/api-token/", views.api_token, name="api-token"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/open/", views.inbox_open, name="inbox-open"),
    path("inbox/read-all/", views.inbox_read_all, name="inbox-read-all"),
]
