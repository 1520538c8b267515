"""The side of the benchmark that runs inside each system's virtualenv.

The runner (``python -m bench``) calls ``python -m benchdriver WORKLOAD PARAMS`` in the system's
virtualenv, with the environment that ``benchproj.settings`` reads. The driver enqueues, starts
the workers as real processes, waits, reads the store and prints one JSON object.
"""
