from django.urls import path

from families import views

urlpatterns = [
    path("", views.home, name="home"),
]
