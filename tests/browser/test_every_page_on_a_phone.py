"""Every page a shopper or the counter sees, on a phone-sized screen in a real browser: it fits the width
(nothing scrolls sideways), every input has a label, every button and link has a name, every image a
text alternative, one h1 and a title of its own; the first Tab lands on "Skip to content" (the scan
station instead starts in its code field, for the scanner), and Tab alone reaches the page's main
action. A screenshot of each page is saved."""
import re

from django.test import Client

from catalog.models import Channel
from customers import services as customer_services
from tests.factories import stock_the_shop

from .shop import at, store_staff

PHONE = {"width": 390, "height": 844}
PASSWORD = "correct-horse-battery-9"

# What a screen reader and a keyboard need, read off the rendered page (its DOM after scripts ran).
PROBLEMS = """(screenWidth) => {
  const problems = [];
  const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (['hidden', 'submit', 'button'].includes(el.type)) continue;
    const named = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!named) problems.push('input without a label: ' + (el.name || el.id));
  }
  for (const el of document.querySelectorAll('a[href], button')) {
    if (!visible(el)) continue;
    const name = (el.innerText || '').trim() || el.getAttribute('aria-label') || el.getAttribute('title')
      || (el.querySelector('img[alt]') || {}).alt;
    if (!name) problems.push('nameless ' + el.tagName.toLowerCase() + ': ' + el.outerHTML.slice(0, 80));
  }
  for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) problems.push('image without alt');
  const h1s = document.querySelectorAll('h1').length;
  if (h1s !== 1) problems.push(h1s + ' h1 elements');
  const ids = [...document.querySelectorAll('[id]')].map(el => el.id);
  for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) problems.push('duplicate id ' + id);
  // A phone browser widens its layout viewport to fit a too-wide page (and zooms out), so innerWidth
  // cannot tell; measure against the screen's own width.
  const wide = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
  if (wide > screenWidth + 1) {
    const culprits = [...document.querySelectorAll('body *')].filter(el => el.getBoundingClientRect().right > screenWidth + 1)
      .slice(0, 3).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : ''));
    problems.push('scrolls sideways: ' + wide + 'px on a ' + screenWidth + 'px screen (' + culprits.join(', ') + ')');
  }
  return problems;
}"""


def check(page, screens, path: str, name: str, *, tab_to: str | None = None, starts_in: str = "") -> str:
    """Open the page, assert what every page owes its users, save its picture; return its title."""
    page.goto(path)
    problems = page.evaluate(PROBLEMS, PHONE["width"])
    assert problems == [], f"{name} ({path}): {problems}"
    title = page.title()
    assert title and "·" in title, f"{name} has no title of its own: {title!r}"
    if starts_in:
        assert page.evaluate("() => document.activeElement.id") == starts_in, f"{name} does not start in #{starts_in}"
    else:
        page.keyboard.press("Tab")
        first = page.evaluate("() => document.activeElement.innerText")
        assert first.strip() == "Skip to content", f"{name}: the first Tab lands on {first!r}"
    if tab_to:
        for _ in range(60):  # Tab alone, as a keyboard user would, until the main action has the focus
            page.keyboard.press("Tab")
            focused = page.evaluate("() => (document.activeElement.innerText || document.activeElement.value || '')"
                                    ".trim()")
            if re.fullmatch(tab_to, focused):
                break
        else:
            raise AssertionError(f"{name}: Tab never reached {tab_to!r}")
    screens.take(page, name)
    return title


def test_every_page_fits_a_phone_names_its_controls_and_works_from_the_keyboard(chromium, live_server, screens,
                                                                                store, other_store):
    stock_the_shop(store=store)
    web = Channel.objects.get(code=Channel.WEB)
    customer_services.customer_register(email="ada@example.com", password=PASSWORD, channel=web, first_name="Ada")
    staff, staff_password = store_staff(store=store)
    # An order to look at, placed through the site in-process (the live server shares the database).
    buyer = Client()
    buyer.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 1})
    key = re.search(r'name="idempotency_key" value="([^"]+)"', buyer.get("/checkout/").content.decode()).group(1)
    order_link = buyer.post("/checkout/", {"fulfilment": "pickup", "store": store.code, "email": "ada@example.com",
                                           "payment_method": "pay_at_pickup", "idempotency_key": key})["Location"]
    receipt_link = order_link.replace("/?key=", "/receipt/?key=")

    phone = chromium.new_context(base_url=live_server.url, viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                 has_touch=True, locale="en-GB")
    phone.set_default_timeout(15_000)
    page = phone.new_page()
    titles = [
        check(page, screens, "/", "home", tab_to="Search"),
        check(page, screens, "/shop/", "catalogue"),
        check(page, screens, "/shop/?q=tee", "search results"),
        check(page, screens, "/shop/organic-tee/", "product", tab_to="Add to basket"),
        check(page, screens, "/stores/?near=Leeds", "store finder"),
        check(page, screens, "/account/sign-in/", "sign in", tab_to="Sign in"),
        check(page, screens, "/account/register/", "register"),
        check(page, screens, order_link, "order page"),
        check(page, screens, receipt_link, "receipt", tab_to="Print"),
        check(page, screens, "/no-such-page/", "not found"),
    ]
    # The same pages in another state: checked, but their titles rightly repeat the page's own.
    check(page, screens, "/shop/organic-tee/?near=M4+3AQ", "product near a postcode")
    check(page, screens, "/cart/", "empty basket")
    page.goto("/shop/organic-tee/")
    page.get_by_role("button", name="Add to basket").click()
    page.wait_for_url(at("/cart/"))
    titles.append(check(page, screens, "/cart/", "basket", tab_to="Check out"))
    titles.append(check(page, screens, "/checkout/", "checkout", tab_to=r"Place order.*"))

    page.goto("/account/sign-in/")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(at("/account/"))
    for path, name in (("/account/", "account"), ("/account/addresses/", "addresses"),
                       ("/account/consent/", "consent")):
        titles.append(check(page, screens, path, name))

    counter = chromium.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True,
                                   locale="en-GB").new_page()
    counter.goto("/admin/login/?next=/scan/")
    counter.get_by_label("Username").fill(staff.username)
    counter.get_by_label("Password").fill(staff_password)
    counter.get_by_role("button", name="Log in").click()
    counter.wait_for_url(at("/scan/"))
    titles.append(check(counter, screens, "/scan/", "scan station", starts_in="code", tab_to="Find the order"))
    titles.append(check(counter, screens, f"/scan/pick-list/{store.code}/", "pick list"))
    counter.goto("/till/")
    counter.get_by_label("SKU or barcode").fill("TEE-NAVY-M")
    counter.get_by_role("button", name="Add").click()
    counter.locator("#till-total").wait_for()
    titles.append(check(counter, screens, "/till/", "till", starts_in="code", tab_to=r"Take £20\.00 and sell"))

    assert len(set(titles)) == len(titles), f"pages share a title: {sorted(t for t in titles if titles.count(t) > 1)}"
    phone.close()
