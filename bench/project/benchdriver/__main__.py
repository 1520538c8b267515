"""python -m benchdriver WORKLOAD PARAMS_JSON: run one workload, print its result as one JSON line.

The environment says which system and store (see benchproj.settings); ``BENCH_LOG_DIR`` is where
the worker processes write their logs.
"""

import json
import os
import sys
from pathlib import Path

import django


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproj.settings")
    django.setup()
    from benchdriver.common import Adapter, BenchError
    from benchdriver.workloads import WORKLOADS

    workload, params = argv[1], json.loads(argv[2])
    system, store = os.environ["BENCH_SYSTEM"], os.environ["BENCH_STORE"]
    adapter: Adapter
    if system == "celery":
        from benchdriver.celery_system import PlainCelery

        adapter = PlainCelery(system, store)
    elif system == "ours-celery":
        from benchdriver.celery_system import OursOnCelery

        adapter = OursOnCelery(system, store)
    else:
        from benchdriver.django_systems import ADAPTERS

        adapter = ADAPTERS[system](system, store)
    logs = Path(os.environ["BENCH_LOG_DIR"]) / f"{system}-{store}"
    try:
        result = WORKLOADS[workload](adapter, params, logs)
    except BenchError as e:
        result = {"error": str(e)}
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
