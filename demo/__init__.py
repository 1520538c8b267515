"""A small Django project that runs tasks on the database backend: see run.py."""
