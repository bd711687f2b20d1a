"""verify_ledger: silent success on a true ledger, a named failure when a level drifts from it."""
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from inventory import services
from inventory.models import StockLevel
from inventory.services import StockLine

pytestmark = pytest.mark.django_db


def test_verify_ledger_passes_when_every_level_matches_its_movements(store, other_store, variant, web, capsys):
    services.stock_receive(location=store, variant=variant, quantity=7)
    services.stock_reserve(lines=[StockLine(store, variant, 2)], channel=web)

    call_command("verify_ledger", verbosity=0)

    assert "no drift" in capsys.readouterr().out


def test_verify_ledger_fails_naming_the_pair_a_stray_write_changed(store, other_store, variant, capsys):
    services.stock_receive(location=store, variant=variant, quantity=7)
    services.stock_receive(location=other_store, variant=variant, quantity=1)
    with connection.cursor() as cursor:  # a write that bypassed the services, as a bug or a manual fix would
        cursor.execute(
            f"UPDATE {StockLevel._meta.db_table} SET on_hand = on_hand + 3 WHERE location_id = %s", [store.pk]
        )

    with pytest.raises(CommandError, match=r"1 \(location, SKU\) pair"):
        call_command("verify_ledger", verbosity=0)

    assert "DRIFT LDN-OXF TEE-NAVY-M on_hand: level 10, ledger 7" in capsys.readouterr().err


def test_verify_ledger_refuses_an_unknown_location_code(store):
    with pytest.raises(CommandError, match="No location with code NOPE"):
        call_command("verify_ledger", location=["NOPE"], verbosity=0)
