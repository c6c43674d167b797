from django.urls import path

from grievances import apis

urlpatterns = [
    path("grievances/", apis.GrievanceListCreateApi.as_view(), name="api-grievances"),
    path("grievances/<uuid:grievance_id>/", apis.GrievanceDetailApi.as_view(), name="api-grievance-detail"),
    path(
        "grievances/<uuid:grievance_id>/status/",
        apis.GrievanceStatusApi.as_view(),
        name="api-grievance-status",
    ),
    path("pdv-rounds/", apis.PdvRoundListCreateApi.as_view(), name="api-pdv-rounds"),
    path("pdv-rounds/<uuid:round_id>/", apis.PdvRoundDetailApi.as_view(), name="api-pdv-round-detail"),
    path("pdv-rounds/<uuid:round_id>/samples/", apis.PdvSampleListApi.as_view(), name="api-pdv-samples"),
    path("pdv-samples/<int:sample_id>/answer/", apis.PdvAnswerApi.as_view(), name="api-pdv-answer"),
]
