"""What the forkserver of ``db_worker --pool process`` loads once, before it forks children:
Django, set up, and the child's code. Each child starts warm, sharing these pages with the
forkserver until it writes to them. No database connection is open when the forkserver forks
(it closes any that an app's ready() opened), so a child never shares one."""

import django
from django.db import connections

try:
    django.setup()
except Exception:  # Each child sets Django up again and its worker logs the error.
    pass
else:
    import django_tasks.backends.database.worker.child  # noqa: F401  # Warm: imported once.

    connections.close_all()
