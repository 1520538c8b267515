"""``python -m tests.database.enqueue_unique COUNT KEY``: enqueue ``record`` with unique key KEY
COUNT times, in a process of its own (the test's many enqueuing processes), on the backend of
the worker settings (DJANGO_TASKS_TEST_TASKS); print the distinct result ids it got."""

import os
import sys

import django

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.worker_settings"
django.setup()

from tests.database.tasks import record  # noqa: E402  # After django.setup().


def main(count: int, key: str) -> None:
    unique = record.using(unique_key=key)
    ids = {unique.enqueue("/dev/null", key).id for _ in range(count)}
    print(" ".join(sorted(ids)))  # noqa: T201  # The output the test reads.


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
