from django.urls import path

app_name = "panel"

urlpatterns = []
