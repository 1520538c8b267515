"""The Django 6 dialect: a project that speaks ``django.tasks`` to our backends, and our 0.6.1
API beside it on the same aliases and rows. Collected only where Django has ``django.tasks``
(tests/conftest.py); the app is installed there only (tests/settings.py)."""
