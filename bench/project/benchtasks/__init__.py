"""The benchmark's tasks for the systems that implement DEP 0014's API (ours, django-tasks-db)."""
