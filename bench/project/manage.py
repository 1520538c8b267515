#!/usr/bin/env python
"""The benchmark project's manage.py: the Django-based workers run as ``manage.py db_worker``."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproj.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
