"""The suite in pytest-xdist workers: who runs in parallel, and each worker's own Redis database."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import conftest as root
from config.test_workers import FIRST, redis_url_of_this_worker

URL = "redis://:s3cret@127.0.0.1:6379/15"


@pytest.mark.parametrize(("worker", "database"), [("gw0", 15), ("gw1", 13), ("gw2", 12), ("gw3", 11)])
def test_each_worker_gets_its_own_redis_database_and_leaves_the_benchmarks_one(worker, database):
    environ = {"REDIS_URL": URL, "PYTEST_XDIST_WORKER": worker}
    assert redis_url_of_this_worker(environ) == {"REDIS_URL": f"redis://:s3cret@127.0.0.1:6379/{database}"}


def test_a_subprocess_with_the_workers_environment_gets_the_same_database():
    environ = {"REDIS_URL": URL, "PYTEST_XDIST_WORKER": "gw2"}
    environ.update(redis_url_of_this_worker(environ))
    assert environ[FIRST] == URL
    assert redis_url_of_this_worker(dict(environ)) == {"REDIS_URL": "redis://:s3cret@127.0.0.1:6379/12"}


@pytest.mark.parametrize("environ", [{"REDIS_URL": URL}, {"PYTEST_XDIST_WORKER": "gw1"}, {}])
def test_nothing_changes_without_redis_or_without_workers(environ):
    assert redis_url_of_this_worker(environ) == {}


def test_too_many_workers_for_the_databases_left_is_refused_without_showing_the_password():
    with pytest.raises(ValueError, match="end REDIS_URL in /15") as refused:
        redis_url_of_this_worker({"REDIS_URL": "redis://:s3cret@127.0.0.1:6379/1", "PYTEST_XDIST_WORKER": "gw2"})
    assert "s3cret" not in str(refused.value)


def workers_for(*args: str) -> int:
    return root.pytest_xdist_auto_num_workers(SimpleNamespace(args=list(args)))


def test_a_whole_run_uses_workers_and_named_test_files_run_in_one_process(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    assert workers_for(str(root.Path(root.__file__).parent)) == root.WORKERS
    assert workers_for("tests/orders") == root.WORKERS
    assert workers_for(__file__, f"{__file__}::test_nothing_changes_without_redis_or_without_workers") == 0
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "2")
    assert workers_for(__file__) == 2


class Item:
    """Just what the ordering hook reads of a collected test."""

    def __init__(self, name: str, markers: tuple[str, ...] = (), fixturenames: tuple[str, ...] = ()):
        self.name, self.markers, self.fixturenames = name, list(markers), fixturenames

    def get_closest_marker(self, name: str):
        return name if name in self.markers else None

    def add_marker(self, mark) -> None:
        self.markers.append(mark.name)


def collected() -> list[Item]:
    return [
        Item("unit"),
        Item("cluster", markers=("cluster",)),
        Item("journey", markers=("browser",)),
        Item("unit-2"),
        Item("page-without-mark", fixturenames=("page", "browser")),
    ]


def test_in_a_worker_browser_tests_form_one_group_and_start_first_then_the_cluster_tests(monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    items = collected()
    root.pytest_collection_modifyitems(None, items)
    assert [item.name for item in items] == ["journey", "page-without-mark", "cluster", "unit", "unit-2"]
    assert [item.name for item in items if "xdist_group" in item.markers] == ["journey", "page-without-mark"]


def test_in_one_process_the_order_of_the_files_stays(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    items = collected()
    root.pytest_collection_modifyitems(None, items)
    assert [item.name for item in items] == ["unit", "cluster", "journey", "unit-2", "page-without-mark"]
