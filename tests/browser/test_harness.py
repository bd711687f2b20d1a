"""The browser harness itself: the system Chromium opens a page the live server renders."""
from django.contrib.auth import get_user_model

from .shop import at


def test_staff_member_signs_in_to_the_scan_station_in_a_real_browser(browser_page, screens, store):
    user = get_user_model().objects.create_user("counter", password="counter-pass", is_staff=True,
                                                is_superuser=True)
    store.staff.add(user)
    browser_page.goto("/admin/login/?next=/scan/")
    browser_page.get_by_label("Username").fill("counter")
    browser_page.get_by_label("Password").fill("counter-pass")
    screens.take(browser_page, "sign in")
    browser_page.get_by_role("button", name="Log in").click()
    browser_page.wait_for_url(at("/scan/"))
    screens.take(browser_page, "scan station")
    assert "Hearth" in browser_page.title()
