"""The one batcher: which mapped items travel together in one Track API request. Pure, no I/O.

Both :func:`cio_browser.mapping.to_requests` ("what would be sent for these items?") and the delivery engine
(what *is* sent) group items with :func:`next_group`, so the two can never disagree.

The grouping rule, decided once:

* With batching on, every v2 entity item (``POST /api/v2/entity``) may share one ``POST /api/v2/batch`` with any
  other, **whatever its action**: person, object (``identify`` and ``identify_anonymous`` alike), delete,
  suppress… Customer.io's batch endpoint takes a mixed list (each body names its own ``type``/``action``), so
  mixing costs nothing and saves requests. This differs on purpose from Segment's cloud destination, which
  sends one batch per action, and for createUpdateObject one per identify/identify_anonymous (README, fidelity).
* A batch holds at most ``batch_size`` items and stays under ``byte_budget`` bytes (Customer.io refuses bodies
  over 500 KB); items keep their arrival order.
* Items that are not v2 entities (reportDeliveryEvent's ``/api/v1/metrics``, Classic mode's v1 calls) always go
  alone, as does an item flagged ``alone`` (the engine isolates the culprit of an unattributed 400 that way: it
  is then sent as a batch of one, so it still goes to the endpoint its batch mates use).
* With batching off every item is its own request (``/api/v2/entity`` for entities).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from .constants import BATCH_BYTES_BUDGET, BATCH_PATH
from .request import Item, byte_size

E = TypeVar("E")

#: ``{"batch":[]}``: the envelope every batch body pays for.
ENVELOPE_BYTES = len('{"batch":[]}')


@dataclass(frozen=True)
class Group(Generic[E]):
    """One request's worth of entries; ``batch`` says whether they go as ``POST /api/v2/batch``."""

    entries: list[E]
    batch: bool

    @property
    def path(self) -> str | None:
        """The batch path, or None when the single entry is sent to its own item path."""
        return BATCH_PATH if self.batch else None


def next_group(
    entries: Sequence[E],
    *,
    batching: bool,
    batch_size: int,
    byte_budget: int = BATCH_BYTES_BUDGET,
    item_of: Callable[[E], Item] = lambda e: e,  # type: ignore[assignment,return-value]
    size_of: Callable[[E], int] | None = None,
    alone: Callable[[E], bool] = lambda e: False,
) -> Group[E] | None:
    """The group the next request carries, starting with ``entries[0]`` (None when there is nothing)."""
    if not entries:
        return None
    size_of = size_of or (lambda e: byte_size(item_of(e).body))
    first = entries[0]
    if not (batching and item_of(first).batchable):
        return Group([first], False)
    if alone(first):
        return Group([first], True)
    chosen: list[E] = []
    size = ENVELOPE_BYTES
    for entry in entries:
        if not item_of(entry).batchable or alone(entry):
            continue
        extra = size_of(entry) + (1 if chosen else 0)
        if chosen and (len(chosen) >= batch_size or size + extra > byte_budget):
            break
        chosen.append(entry)
        size += extra
    return Group(chosen, True)


def groups(
    entries: Sequence[E],
    *,
    batching: bool,
    batch_size: int,
    byte_budget: int = BATCH_BYTES_BUDGET,
    item_of: Callable[[E], Item] = lambda e: e,  # type: ignore[assignment,return-value]
    size_of: Callable[[E], int] | None = None,
) -> list[Group[E]]:
    """Every request's group for ``entries``, in the order the engine would send them."""
    size_of = size_of or (lambda e: byte_size(item_of(e).body))
    left = list(range(len(entries)))   # positions, so one object listed twice is still sent twice
    out: list[Group[E]] = []
    while left:
        group = next_group(left, batching=batching, batch_size=batch_size, byte_budget=byte_budget,
                           item_of=lambda i: item_of(entries[i]), size_of=lambda i: size_of(entries[i]))
        assert group is not None
        out.append(Group([entries[i] for i in group.entries], group.batch))
        taken = set(group.entries)
        left = [i for i in left if i not in taken]
    return out
