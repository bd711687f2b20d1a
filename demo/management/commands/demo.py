"""`manage.py demo [addrport]`: the README's one-command demo (migrate, demo data, demo logins, serve).
Development only: it refuses to run unless DEBUG is on, because its logins have public passwords.
"""
import atexit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from inventory.models import Location

from ...local_stripe import local_stripe_start
from ...logins import demo_logins_create, demo_store

DEFAULT_ADDRPORT = "127.0.0.1:8000"


class Command(BaseCommand):
    help = ("Migrate, load demo data, create the demo logins (admin/admin and one per role: staff, manager, merch, "
            "pickup) and serve on 127.0.0.1:8000.")

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default=DEFAULT_ADDRPORT,
                            help=f"Address and port to serve on (default {DEFAULT_ADDRPORT}).")

    def handle(self, *args, addrport: str, **options):
        if not settings.DEBUG:
            raise CommandError(
                "The demo creates logins with public passwords (admin/admin, staff/staff, ...), so it only runs with "
                "DEBUG on. Run it with DEBUG=1, e.g. `DEBUG=1 python manage.py demo`; the Makefile does."
            )
        verbosity = options["verbosity"]
        call_command("migrate", interactive=False, verbosity=verbosity)
        server = local_stripe_start()  # before the demo data: its history pays by card
        if server is not None:
            atexit.register(server.terminate)
        call_command("load_demo_data", verbosity=verbosity)
        store = demo_store()
        demo_logins_create(store=store)
        self.stdout.write(self._banner(addrport, store))
        call_command("runserver", addrport, use_reloader=False, verbosity=verbosity)

    def _banner(self, addrport: str, store: Location) -> str:
        host, _, port = addrport.rpartition(":")
        base = f"http://{host or '127.0.0.1'}:{port}"
        return "\n".join([
            "",
            self.style.SUCCESS("The demo shop is ready."),
            f"  Storefront (shop):    {base}/",
            f"      try it:            check out for pickup at {store.name}, then sign in to the back office as staff:",
            "                         the store home marks it ready in one click; the counter hands it over",
            "      or:                pick a store that lacks the size: the checkout says from which day it can be",
            "                         collected (it is sent there); as manager, the counter's Receive a transfer",
            "                         makes it ready; tap I'm here on the order page and the counter sees you",
            f"  Back office:          {base}/admin/  (store roles land on their store home)",
            "      head office login:  admin / admin       (superuser)",
            "      merchandiser:       merch / merch       (catalogue, prices, ranges, imports, analytics)",
            f"      store manager:      manager / manager   ({store.name}, {store.code}: stock, staff, analytics)",
            f"      store staff:        staff / staff       ({store.name}: till, fulfilments, returns, orders)",
            f"      pickup staff:       pickup / pickup     ({store.name}: the counter at {base}/scan/)",
            f"  Till (as staff):      {base}/till/  (scan items or load a customer's online basket, take payment)",
            f"  Returns desk:         {base}/admin/returns/desk/  (any order, any channel, as staff)",
            f"  Analytics:            {base}/admin/analytics/",
            f"  Card payments:        the local Stripe double at {settings.STRIPE_API_BASE} and its Stripe.js: 4242 4242 4242 4242"
            " pays;",
            "                         4000 0027 6000 3184 asks the bank's check (3-D Secure) first; 4000 0000 0000 0341 is declined",
            f"  API docs:             {base}/api/docs/",
            "  Stop it with Ctrl+C; run it again any time, nothing is duplicated.",
            "",
        ])
