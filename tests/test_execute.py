"""The execution seam (planner/execute/) on a real Dask LocalCluster of 2 worker processes: the same results, byte
for byte, as in process (Monte Carlo draws, the accounts' MILPs, the price search's accounts' LPs); results in the
order of the items; what several maps read sent once; a worker killed mid-run has its tasks run again."""

from __future__ import annotations

import json
import os
import pickle
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_optimize_prices import bytes_of
from test_optimize_split import WORLD, accounts_world, model_of, parts

from planner.cli import main
from planner.compile.model import compile_rules
from planner.execute import CannotConnect, Executor, connect
from planner.optimize import prices, repair, split
from planner.optimize.blocks import block_problems
from planner.optimize.highs import run_problem
from planner.prepare import prepare
from planner.simulate import monte_carlo, promotions_for

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "scenarios" / "base.yaml"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Executor]:
    with connect(workers=2) as executor:
        yield executor


def slow_square(pause: float, item: int) -> int:
    """A task that takes a while, so a worker can be killed while it runs."""
    time.sleep(pause)
    return item * item


def test_a_cluster_of_two_gives_the_draws_of_the_process_byte_for_byte(cluster: Executor) -> None:
    rules = prepare(BASE, []).resolved.rules
    compiled = compile_rules(rules)
    promotions = promotions_for(rules, compiled, list(rules.events))
    here = monte_carlo(rules, compiled, promotions, 24, 11)
    there = monte_carlo(rules, compiled, promotions, 24, 11, executor=cluster)
    threads = monte_carlo(rules, compiled, promotions, 24, 11, executor=Executor(threads=2))
    assert cluster.slots == 2
    assert pickle.dumps(here) == pickle.dumps(there) == pickle.dumps(threads)
    assert pickle.dumps(monte_carlo(rules, compiled, promotions, 24, 12)) != pickle.dumps(here)


def test_the_accounts_milps_on_a_cluster_give_the_plan_of_the_process_byte_for_byte(cluster: Executor) -> None:
    problem, blocks = parts(model_of(WORLD))
    here = split.solve(problem, blocks, 60, 1e-6)
    there = split.solve(problem, blocks, 60, 1e-6, executor=cluster)
    assert here.split is not None and there.split is not None and there.split.blocks == 3
    assert here.method == there.method
    assert (here.run.objective, here.run.bound) == (there.run.objective, there.run.bound)
    assert here.run.values.tobytes() == there.run.values.tobytes()


def test_the_price_search_on_a_cluster_is_the_search_of_the_process_byte_for_byte(cluster: Executor) -> None:
    """Every iteration's accounts' LPs are tasks on the cluster, the accounts sent once; a worker that did not solve
    an account at the prices before solves its earlier LPs again first, so every LP starts from the basis it has
    in process."""
    problem, blocks = parts(model_of(accounts_world(budget_share=0.25, margin=0.3)))
    accounts = block_problems(problem, blocks, problem.cost)
    here = prices.search(problem, accounts, blocks.coupling)
    there = prices.search(problem, accounts, blocks.coupling, executor=cluster)
    assert there.iterations == here.iterations > 1
    assert bytes_of(there) == bytes_of(here)


def test_the_repair_in_groups_on_a_cluster_gives_the_plan_of_the_process_byte_for_byte(
        cluster: Executor, monkeypatch: pytest.MonkeyPatch) -> None:
    """The repair's groups of accounts (one account a group here) are tasks like the accounts' MILPs: on a cluster
    the same plan as in process, byte for byte."""
    monkeypatch.setattr(repair, "GROUP_COLUMNS", 1)
    problem, blocks = parts(model_of(accounts_world(budget_share=0.25, margin=0.3)))
    unpriced = split.split(problem, blocks, np.zeros(len(problem.row_lower)), 30, 0.0)
    lp = run_problem(problem.relaxed(), 30, None, options={})
    here = split.repair(problem, unpriced.values, lp.values, 60, 1e-9, None, blocks=blocks)
    there = split.repair(problem, unpriced.values, lp.values, 60, 1e-9, None, blocks=blocks, executor=cluster)
    assert here.has_plan and unpriced.broken >= 1
    assert (here.objective, here.bound) == (there.objective, there.bound)
    assert here.values.tobytes() == there.values.tobytes()


def test_what_several_maps_read_is_sent_once(cluster: Executor, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within `sending`, the maps' tasks read what was scattered on entering: nothing is sent again per map, and
    the results are the process's. Passed to each map itself, it is scattered once per map."""
    client = cluster.client
    assert client is not None
    scattered: list[object] = []
    scatter: Callable[..., object] = client.scatter

    def counted(data: list[object], **options: object) -> object:
        scattered.extend(data)
        return scatter(data, **options)

    monkeypatch.setattr(client, "scatter", counted)
    items = list(range(20))
    with cluster.sending(0.0) as sent:
        twice = cluster.map(slow_square, items, sent) + cluster.map(slow_square, items, sent)
    assert scattered == [0.0]
    assert twice == Executor().map(slow_square, items, 0.0) * 2
    cluster.map(slow_square, items, 0.0)
    cluster.map(slow_square, items, 0.0)
    assert scattered == [0.0] * 3


def test_results_come_back_in_the_order_of_the_items(cluster: Executor) -> None:
    items = list(range(37))[::-1]
    seen: list[int] = []
    results = cluster.map(slow_square, items, 0.0, on_result=lambda position, _: seen.append(position))
    assert results == [item * item for item in items]
    assert sorted(seen) == list(range(len(items)))
    assert Executor().map(slow_square, items, 0.0) == results == Executor(threads=3).map(slow_square, items, 0.0)
    many, in_threads = list(range(300))[::-1], []  # in threads too, the items go in runs (of 16 here), one task each
    assert Executor(threads=2).map(slow_square, many, 0.0, on_result=lambda position, result: in_threads.append(
        (position, result))) == [item * item for item in many]
    assert sorted(in_threads) == [(position, item * item) for position, item in enumerate(many)]


def test_a_worker_killed_mid_run_has_its_tasks_run_again(cluster: Executor) -> None:
    client = cluster.client
    assert client is not None
    killed: list[int] = []

    def kill_one(_position: int, _result: int) -> None:
        if killed:
            return
        processing: Callable[[], dict[str, list[object]]] = client.processing  # distributed is untyped
        busy = {worker: tasks for worker, tasks in processing().items() if tasks}
        victim = next(iter(busy))
        pid = client.run(os.getpid, workers=[victim])[victim]
        killed.append(len(busy[victim]))
        os.kill(pid, signal.SIGKILL)

    items = list(range(40))
    results = cluster.map(slow_square, items, 0.2, on_result=kill_one)
    assert killed and killed[0] > 0  # the worker had tasks running or queued when it died
    assert results == [item * item for item in items]
    client.wait_for_workers(2, timeout=60)  # the nanny starts a new worker; the next test has two again


def test_the_command_line_draws_on_two_workers_as_in_process() -> None:
    runner = CliRunner()
    arguments = ["simulate", str(BASE), "--draws", "30", "--seed", "5", "--format", "json"]
    here = runner.invoke(main, arguments)
    there = runner.invoke(main, arguments + ["--workers", "2"])
    assert here.exit_code == there.exit_code == 0, there.output
    assert here.stdout == there.stdout
    assert json.loads(there.stdout)["uncertainty"]["draws"] == 30


def test_workers_and_scheduler_together_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["simulate", str(BASE), "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "give one of them" in result.output


def test_a_scheduler_nobody_runs_cannot_be_reached() -> None:
    with (pytest.raises(CannotConnect, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"),
          connect(scheduler="tcp://127.0.0.1:9", timeout=2)):
        pass
