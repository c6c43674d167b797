from django.apps import AppConfig


class GrievancesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "grievances"
    verbose_name = "Grievances and post-distribution verification"
