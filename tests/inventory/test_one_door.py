"""Only inventory/services.py writes StockLevel or StockMovement: checked in the source of every
project module, and at run time by the models refusing save() and delete()."""
import ast
import re
from pathlib import Path

import pytest

from inventory.models import StockLevel, StockMovement, WriteThroughServicesOnly
from tests.test_layers import APPS

ROOT = Path(__file__).resolve().parents[2]
THE_DOOR = ROOT / "inventory" / "services.py"
STOCK_NAMES = {"StockLevel", "StockMovement", "stock_levels", "movements"}
WRITES = {"save", "create", "bulk_create", "bulk_update", "update", "get_or_create", "update_or_create", "delete"}
RAW_WRITE = re.compile(r"(insert\s+into|update|delete\s+from)\s+\"?inventory_stock(level|movement)", re.IGNORECASE)


def stock_writes(source: str) -> list[int]:
    """Line numbers of calls that write stock rows: ORM write methods on a chain naming a stock model, or raw SQL."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES:
            chain, names = node.func.value, set()
            while isinstance(chain, (ast.Attribute, ast.Call, ast.Subscript)):
                if isinstance(chain, ast.Attribute):
                    names.add(chain.attr)
                chain = chain.func if isinstance(chain, ast.Call) else chain.value
            if isinstance(chain, ast.Name):
                names.add(chain.id)
            if names & STOCK_NAMES:
                found.append(node.lineno)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and RAW_WRITE.search(node.value):
            found.append(node.lineno)
    return found


def project_modules():
    for app in (*APPS, "config"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts and path != THE_DOOR:
                yield path


def test_the_scanner_spots_each_kind_of_stock_write():
    planted = """
StockLevel.objects.filter(pk=1).update(on_hand=3)
location.stock_levels.create(variant=v)
StockMovement.objects.bulk_create(rows)
cursor.execute("UPDATE inventory_stocklevel SET on_hand = 0")
Variant.objects.filter(pk=1).update(sku="x")
"""
    assert stock_writes(planted) == [2, 3, 4, 5]


def test_no_module_but_inventory_services_writes_stock():
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in project_modules()
        if (lines := stock_writes(path.read_text()))
    }
    assert offenders == {}, f"stock written outside inventory/services.py: {offenders}"


@pytest.mark.parametrize("model", [StockLevel, StockMovement])
def test_stock_rows_refuse_save_and_delete(model):
    with pytest.raises(WriteThroughServicesOnly):
        model().save()
    with pytest.raises(WriteThroughServicesOnly):
        model().delete()
