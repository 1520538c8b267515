from django.apps import AppConfig


class BenchTasksConfig(AppConfig):
    name = "benchtasks"

    def ready(self) -> None:
        # Declare the tasks in every process (web side and workers), whatever the system discovers.
        from benchtasks import tasks  # noqa: F401
