"""The numbers and names of the task API that every part of it shares."""

DEFAULT_TASK_BACKEND_ALIAS = "default"
DEFAULT_QUEUE_NAME = "default"
MIN_PRIORITY = -100
MAX_PRIORITY = 100
DEFAULT_PRIORITY = 0
DEFAULT_TASK_QUEUE_NAME = DEFAULT_QUEUE_NAME
"""Django's name (django.tasks) of DEFAULT_QUEUE_NAME; so are the three below of theirs."""
TASK_MIN_PRIORITY = MIN_PRIORITY
TASK_MAX_PRIORITY = MAX_PRIORITY
DEFAULT_TASK_PRIORITY = DEFAULT_PRIORITY
MAX_RESULT_ID_LENGTH = 64
"""A result id is an opaque string of at most this many characters."""
MAX_UNIQUE_KEY_LENGTH = 200
"""The longest unique key of a task (``task.using(unique_key=...)``)."""
