from django.urls import path

from accounts.api import LockoutAwareObtainAuthToken

urlpatterns = [
    path("token/", LockoutAwareObtainAuthToken.as_view(), name="api-token-obtain"),
]
