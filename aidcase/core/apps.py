from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "aidcase.core"
    label = "core"
