"""The benchmark: our DatabaseBackend against the queues Django teams use today, in one run.

``./dev bench`` runs it (see the README's Performance section). This package is the runner: it
creates one virtualenv per system, calls the driver (``bench/project/benchdriver``) inside each
one for every workload, measures the raw-SQL ceiling, prints the table and the targets, and
writes everything to ``bench/results/<timestamp>.json``.
"""
