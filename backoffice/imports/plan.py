"""What every kind's plan is: check every row of the file into Items, then write only what differs. Plan is the
base class the kinds (products.py, variants.py, prices.py, ranges.py, stock.py) fill in, with the shared upsert."""
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .bulk import insert, update
from .reading import ImportResult, Progress, Report, Row


@dataclass
class Item:
    lines: list[int]
    key: Any
    fields: dict[str, Any]


class Plan:
    kind = ""

    def __init__(self, report: Report, progress: Progress, actor, reference: str) -> None:
        self.report, self.progress, self.actor, self.reference = report, progress, actor, reference

    def check(self, rows: list[Row]) -> list[Item]:
        raise NotImplementedError

    def write(self, items: list[Item], result: ImportResult) -> None:
        raise NotImplementedError

    def rows(self, rows: list[Row]) -> Iterable[Row]:
        return self.progress(rows, desc=f"checking {self.kind}", unit=" rows")

    def upsert(self, model, key: str | tuple[str, ...], items: list[Item], existing: dict[Any, dict],
               result: ImportResult) -> None:
        """Create what is new and update, in bulk, only the records whose given fields differ. `key` names
        the field an item's key fills (or, for a tuple key, the fields in order). Updates are written
        before new rows, so a database check across rows never sees an old and a new value at once."""
        new, changed, fields = [], [], set()
        for item in items:
            current = existing.get(item.key)
            if current is None:
                named = dict(zip(key, item.key, strict=True)) if isinstance(key, tuple) else {key: item.key}
                new.append({**named, **item.fields})
                continue
            differ = {name for name, value in item.fields.items() if current[name] != value}
            if differ:
                fields |= differ
                changed.append({**current, **item.fields})
            else:
                result.unchanged += 1
        update(model, changed, fields)
        insert(model, new)
        result.created += len(new)
        result.updated += len(changed)
