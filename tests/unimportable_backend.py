"""A backend module that cannot be imported: it needs a package that is not installed."""

import django_tasks_missing_dependency  # type: ignore[import-not-found]  # Missing on purpose.

Backend = django_tasks_missing_dependency.Backend
