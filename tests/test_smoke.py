from tests.tasks import add


def test_add_runs_immediately() -> None:
    assert add.enqueue(1, 2).return_value == 3
