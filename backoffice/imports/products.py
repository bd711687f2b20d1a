"""Importing products: one row per product, by slug, with its name, brand, category (by slug), description,
tax class and whether it is active. A new product needs a name and a category."""
from catalog.models import Category, Product, TaxClass

from . import cells
from .bulk import by_key
from .plan import Item, Plan
from .reading import BAD, first_line


class Products(Plan):
    kind = "products"
    FIELDS = ("id", "slug", "name", "brand", "category_id", "description", "tax_class", "is_active")

    def check(self, rows):
        report = self.report
        self.existing = by_key(Product.objects, "slug", (r["slug"] for r in rows), *self.FIELDS)
        categories = {slug: row["id"] for slug, row in
                      by_key(Category.objects, "slug", (r["category"] for r in rows), "id").items()}
        tax_classes = {value: value for value in TaxClass.values}
        seen: dict[str, int] = {}
        items = []
        for row in self.rows(rows):
            slug = row.cell(report, "slug", cells.slug, 220)
            if slug is not BAD:
                first_line(report, seen, slug, row.line, "slug", f"product {slug}")
            given = {}
            if row.has("name"):
                given["name"] = row.cell(report, "name", cells.text, 200, True)
            if row.has("brand"):
                given["brand"] = row.cell(report, "brand", cells.text, 120)
            if row.has("category"):
                given["category_id"] = row.cell(report, "category", cells.known, categories, "category (by slug)")
            if row.has("description"):
                given["description"] = row["description"]
            if row.has("tax_class"):
                given["tax_class"] = row.cell(report, "tax_class", lambda v: cells.known(
                    v.lower() or TaxClass.STANDARD, tax_classes, f"tax class ({', '.join(TaxClass.values)})"))
            if row.has("is_active"):
                given["is_active"] = row.cell(report, "is_active", cells.flag)
            if slug is not BAD and slug not in self.existing:
                for column, name in (("name", "name"), ("category", "category_id")):
                    if not row.has(column):
                        report.add(row.line, column, f"a new product needs a {column}; add the column")
            items.append(Item([row.line], slug, given))
        return items

    def write(self, items, result):
        self.upsert(Product, "slug", items, self.existing, result)
