from django.urls import path

from grievances import views

urlpatterns = [
    path("grievances/", views.grievance_index, name="grievance-index"),
    path("grievances/<uuid:grievance_id>/", views.grievance_detail, name="grievance-detail"),
    path("families/<uuid:family_id>/complaint/", views.grievance_new, name="grievance-new"),
    path("verification/", views.pdv_index, name="pdv-index"),
    path("verification/<uuid:round_id>/", views.pdv_detail, name="pdv-detail"),
    path("verification/answer/<int:sample_id>/", views.pdv_answer, name="pdv-answer"),
]
