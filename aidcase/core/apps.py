from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "aidcase.core"
    label = "core"

    def ready(self) -> None:
        from aidcase.core import schema  # noqa: F401  registers the OpenAPI extensions
