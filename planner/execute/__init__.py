"""One seam for independent work: tasks mapped in this process or on a Dask cluster, with identical results.

The planner has three kinds of work that split into independent tasks: the accounts' subproblems of the
optimizer (the price search's LPs, optimize/prices.py; the accounts' MILPs, optimize/split.py; the knapsacks of
optimize/decompose.py), the Monte Carlo draws of the simulator (simulate.py) and the points of a sweep
(sweep/). Each calls `Executor.map(task, items, shared)`:

    task(shared, item) -> result           a module-level function (it travels to other processes by name)
    shared                                  what every task reads (the model's arrays, the compiled rules):
                                            sent once, not once per task (Dask's scatter, broadcast to every worker)
    items                                   small: an account's position, a draw's number, a sweep point
    -> [task(shared, item) for item in items]   in the order of `items`, however the tasks were scheduled

An iterative method whose every iteration maps over the same accounts sends what they read once, for all its
maps: `with executor.sending(shared) as sent: executor.map(task, items, sent)`.

So the result of a map does not depend on where it ran: a task is a pure function of (shared, item), and the
caller combines the results in a fixed order. Randomness belongs to the item (a draw's number seeds its own
generator), never to the worker or to the order of completion.

Where the tasks run:
- `Executor()`: one after the other, in the calling thread (the default, and the reference);
- `Executor(threads=N)`: N threads of this process, for tasks that let go of Python's lock (HiGHS does);
- `connect(workers=N)`: a Dask LocalCluster of N worker processes on this machine (`--workers N`);
- `connect(scheduler="tcp://host:8786")`: a running cluster (`dask scheduler` / `dask worker`, docs/scale.md).

On a cluster a worker that dies mid-run (killed, out of memory) loses its tasks to the scheduler, which runs
them again on another worker (Dask's `allowed-failures`, 3 by default); `shared` is broadcast to every worker
so a lost worker does not lose it. The caller sees the same results, later.
"""

from __future__ import annotations

import importlib
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from distributed import Client

Shared = TypeVar("Shared")
Item = TypeVar("Item")
Result = TypeVar("Result")
TASKS_PER_SLOT = 4
"""The items go in at least this many tasks per thread (here) or worker thread (on a cluster): enough that a slow task or a lost
worker does not leave the others idle, few enough that the scheduler's overhead (about a millisecond a task)
stays small beside the work."""
ITEMS_PER_TASK = 16
"""At most this many items in one task: progress comes as tasks finish, and a lost worker's tasks are run
again whole, so a task should be a few seconds of work at most (an account's MILP or a sweep point is a
fraction of a second to a few seconds)."""


class CannotConnect(RuntimeError):
    """No cluster could be started or reached; the message says which and why."""


@dataclass(frozen=True)
class Sent(Generic[Shared]):
    """What several maps read, sent once (`Executor.sending`): the value, and on a cluster its scattered copy."""

    value: Shared
    future: Any = None
    """On a cluster: the Dask future of the value, broadcast to every worker (None in process)."""


@dataclass(frozen=True)
class _Batch(Generic[Shared, Item, Result]):
    """A run of consecutive items done as one Dask task: a picklable callable (module-level class)."""

    task: Callable[[Shared, Item], Result]

    def __call__(self, shared: Shared, items: Sequence[Item]) -> list[Result]:
        return [self.task(shared, item) for item in items]


@dataclass
class Executor:
    """Where independent tasks run: in this process (`client` None, on `threads` threads) or on a Dask client."""

    client: Client | None = None
    threads: int = 1

    @property
    def distributed(self) -> bool:
        return self.client is not None

    @property
    def slots(self) -> int:
        """How many tasks can run at once: the threads here, or every worker thread of the cluster."""
        if self.client is None:
            return max(1, self.threads)
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        return max(1, sum(int(worker.get("nthreads", 1)) for worker in workers.values()))

    def describe(self) -> str:
        if self.client is None:
            return "in process" + (f", {self.threads} threads" if self.threads > 1 else "")
        return f"Dask cluster at {self.client.scheduler_info()['address']}, {self.slots} worker thread(s)"

    @contextmanager
    def sending(self, shared: Shared) -> Iterator[Sent[Shared]]:
        """`shared` sent once for several maps (`map(task, items, sent)`): on a cluster scattered to every worker
        on entering and released on leaving, where passing the value itself to `map` sends it again each time (an
        iterative method whose every iteration is a map over the same accounts: prices.py)."""
        client: Any = self.client  # typed Any: parts of distributed have no annotations
        if client is None:
            yield Sent(shared)
            return
        [future] = client.scatter([shared], broadcast=True, hash=False)
        try:
            yield Sent(shared, future)
        finally:
            client.cancel([future])

    def map(self, task: Callable[[Shared, Item], Result], items: Sequence[Item], shared: Shared | Sent[Shared],
            on_result: Callable[[int, Result], None] | None = None,
            on_interrupt: Callable[[], None] | None = None) -> list[Result]:
        """[task(shared, item) for item in items], wherever they run (`shared` may be one `sending` sent).
        `on_result(position, result)` is called in the calling thread as each result arrives (progress). Ctrl-C
        while waiting calls `on_interrupt` (the caller's stop, which its tasks watch) and keeps waiting for the
        tasks to wind down; without it, Ctrl-C cancels what has not finished and raises."""
        if not items:
            return []
        value: Shared = shared.value if isinstance(shared, Sent) else shared
        if self.client is not None:
            if isinstance(shared, Sent) and shared.future is not None:
                return self._on_cluster(self.client, task, items, shared.future, on_result, on_interrupt)
            with self.sending(value) as sent:
                return self._on_cluster(self.client, task, items, sent.future, on_result, on_interrupt)
        if self.threads <= 1:
            results = []
            for position, item in enumerate(items):
                results.append(task(value, item))
                if on_result is not None:
                    on_result(position, results[-1])
            return results
        batches = _Batches(items, self.threads, on_result)
        with ThreadPoolExecutor(max_workers=min(self.threads, len(batches.items))) as pool:
            futures = {pool.submit(_Batch(task), value, batch): number
                       for number, batch in enumerate(batches.items)}
            _collect(futures, as_completed, len(futures), batches.keep, on_interrupt,
                     lambda: [future.cancel() for future in futures])
        return batches.results()

    def _on_cluster(self, client: Any, task: Callable[[Shared, Item], Result], items: Sequence[Item],
                    sent: Any, on_result: Callable[[int, Result], None] | None,
                    on_interrupt: Callable[[], None] | None) -> list[Result]:
        """The map on the cluster, `sent` the scattered future of what every task reads."""
        from distributed import as_completed as dask_completed

        batches = _Batches(items, self.slots, on_result)
        futures = client.map(_Batch(task), [sent] * len(batches.items), batches.items, pure=False)
        _collect({future: number for number, future in enumerate(futures)}, dask_completed, len(futures),
                 batches.keep, on_interrupt, lambda: client.cancel(futures))
        return batches.results()


class _Batches(Generic[Item, Result]):
    """The items of a map in runs of consecutive items, one task each (in threads as on a cluster: a task per item
    cost the calling thread about as much Python as a small task's own work, the price search's 60,000 account
    LPs at 10,000 accounts), and their results put back in the items' order as each run comes back."""

    def __init__(self, items: Sequence[Item], slots: int,
                 on_result: Callable[[int, Result], None] | None) -> None:
        self.size = max(1, min(ITEMS_PER_TASK, math.ceil(len(items) / (TASKS_PER_SLOT * slots))))
        self.items = [list(items[start:start + self.size]) for start in range(0, len(items), self.size)]
        self.done: list[list[Result]] = [[] for _ in self.items]
        self.on_result = on_result

    def keep(self, number: int, batch: list[Result]) -> None:
        self.done[number] = batch
        if self.on_result is not None:
            for offset, result in enumerate(batch):
                self.on_result(number * self.size + offset, result)

    def results(self) -> list[Result]:
        return [result for batch in self.done for result in batch]


def _collect(futures: dict[Any, int], completed: Callable[[Any], Iterator[Any]], count: int,
             on_result: Callable[[int, Any], None] | None, on_interrupt: Callable[[], None] | None,
             cancel: Callable[[], object]) -> list[Any]:
    """Results of `futures` (future -> position) in position order, reporting each as it completes."""
    results: list[Any] = [None] * count
    pending = set(futures)
    while pending:
        try:
            for future in completed(list(pending)):
                pending.discard(future)
                results[futures[future]] = future.result()
                if on_result is not None:
                    on_result(futures[future], results[futures[future]])
        except KeyboardInterrupt:
            if on_interrupt is None:
                cancel()
                raise
            on_interrupt()
    return results


@contextmanager
def connect(workers: int | None = None, scheduler: str | None = None, threads: int = 1,
            timeout: float = 30.0) -> Iterator[Executor]:
    """An executor for the command line's `--workers N` (a LocalCluster of N single-threaded worker processes,
    closed on leaving) or `--scheduler ADDRESS` (a running cluster, left running); neither: in process, on
    `threads` threads. Both at once is the caller's usage error to report; here the scheduler wins."""
    if not workers and not scheduler:
        yield Executor(threads=threads)
        return
    dask: Any = importlib.import_module("distributed")  # typed Any: parts of distributed have no annotations
    started = time.perf_counter()
    cluster: Any = None
    try:
        if scheduler:
            client = dask.Client(scheduler, timeout=f"{timeout}s")
        else:
            cluster = dask.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                                   silence_logs=logging.ERROR)
            client = dask.Client(cluster)
    except (OSError, TimeoutError, ValueError) as error:
        where = f"the Dask scheduler at {scheduler}" if scheduler else f"a LocalCluster of {workers} workers"
        raise CannotConnect(f"cannot reach {where}: {error} "
                            f"({time.perf_counter() - started:.1f} s)") from error
    try:
        yield Executor(client)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
