"""The numbers and names of the task API that every part of it shares."""

DEFAULT_TASK_BACKEND_ALIAS = "default"
DEFAULT_QUEUE_NAME = "default"
MIN_PRIORITY = -100
MAX_PRIORITY = 100
DEFAULT_PRIORITY = 0
MAX_RESULT_ID_LENGTH = 64
"""A result id is an opaque string of at most this many characters."""
