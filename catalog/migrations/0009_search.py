"""Search, popularity and price order.

Every database: Product.units_sold_30d (orders.popularity refreshes it) and its index for "Popular right now".

PostgreSQL only (catalog.search reads these; other databases search with icontains):
- catalog_product.search_document, a weighted tsvector (English stemming): the name (A); the brand and the names of
  the category and its ancestors (B); the option values of the active variants, such as colour and size (C); the
  description (D). A GIN index finds matches.
- catalog_searchword, every word of names, brands, categories and option values as written ("jeans", "navy"), with a
  trigram index: a word the catalogue does not know ("jeens") is read as the nearest ones that it does.
- Triggers keep both right whatever writes the rows (the admin, CSV imports by COPY, bulk loads, raw SQL): a
  product's name, brand, description or category changing; a variant added, changed or removed; a category renamed
  or moved (every product beneath it). Statement-level triggers, so a bulk write refreshes its products in one UPDATE.
- Upper-case SKU and barcode prefix indexes, so a search for a code finds its product by index.
- ProductPriceFrom (the table on every database, used only here): each product's lowest price per channel for the
  price sorts, which a write to a price, a variant or a range makes the database forget (see the model).
"""
import django.db.models.deletion
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

FUNCTIONS = [
    # The category and everything above it, by name (UNION stops at a cycle, as catalog.filters does).
    """CREATE FUNCTION catalog_search_categories(category bigint) RETURNS text LANGUAGE sql STABLE AS $$
        WITH RECURSIVE chain(id, parent_id, name) AS (
            SELECT id, parent_id, name FROM catalog_category WHERE id = category
            UNION SELECT c.id, c.parent_id, c.name FROM catalog_category c JOIN chain ON c.id = chain.parent_id)
        SELECT coalesce(string_agg(name, ' '), '') FROM chain $$""",
    # Each option value of the product's active variants, once.
    """CREATE FUNCTION catalog_search_options(product bigint) RETURNS text LANGUAGE sql STABLE AS $$
        SELECT coalesce(string_agg(DISTINCT o.value, ' '), '')
          FROM catalog_variant v,
               jsonb_each_text(CASE WHEN jsonb_typeof(v.options) = 'object' THEN v.options ELSE '{}' END) o
         WHERE v.product_id = product AND v.is_active $$""",
    # Recompute the document of these products and learn their words: one statement for any number of products.
    """CREATE FUNCTION catalog_search_refresh(products bigint[]) RETURNS void LANGUAGE sql AS $$
        WITH fresh AS (
            SELECT p.id, p.name, p.brand, p.description, catalog_search_categories(p.category_id) AS categories,
                   catalog_search_options(p.id) AS options
              FROM catalog_product p WHERE p.id = ANY(products)),
        learnt AS (
            INSERT INTO catalog_searchword (word)
            SELECT DISTINCT w.lexeme FROM fresh,
                   unnest(to_tsvector('simple', fresh.name || ' ' || fresh.brand || ' ' || fresh.categories || ' '
                                                || fresh.options)) w
             WHERE length(w.lexeme) > 2 AND w.lexeme !~ '[^[:alpha:]]'
             ORDER BY 1  -- one order, so two imports learning the same words never wait on each other in a cycle
                ON CONFLICT DO NOTHING)
        UPDATE catalog_product p
           SET search_document = setweight(to_tsvector('english', fresh.name), 'A')
                              || setweight(to_tsvector('english', fresh.brand || ' ' || fresh.categories), 'B')
                              || setweight(to_tsvector('english', fresh.options), 'C')
                              || setweight(to_tsvector('english', fresh.description), 'D')
          FROM fresh WHERE p.id = fresh.id $$""",
    # Each trigger collects the products a statement touched and refreshes them (its own UPDATE of search_document
    # fires the product trigger again, which finds nothing changed and stops).
    """CREATE FUNCTION catalog_search_products_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM catalog_search_refresh(array(SELECT id FROM added));
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION catalog_search_products_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        changed bigint[] := array(
            SELECT n.id FROM after_rows n JOIN before_rows o ON o.id = n.id
             WHERE (n.name, n.brand, n.description, n.category_id) IS DISTINCT FROM
                   (o.name, o.brand, o.description, o.category_id));
    BEGIN
        IF cardinality(changed) > 0 THEN
            PERFORM catalog_search_refresh(changed);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION catalog_search_variants_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM catalog_search_refresh(array(SELECT DISTINCT product_id FROM added));
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION catalog_search_variants_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        changed bigint[] := array(
            SELECT unnest(ARRAY[n.product_id, o.product_id]) FROM after_rows n JOIN before_rows o ON o.id = n.id
             WHERE (n.product_id, n.options, n.is_active) IS DISTINCT FROM (o.product_id, o.options, o.is_active));
    BEGIN
        IF cardinality(changed) > 0 THEN
            PERFORM catalog_search_refresh(array(SELECT DISTINCT unnest(changed)));
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION catalog_search_variants_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM catalog_search_refresh(array(SELECT DISTINCT product_id FROM removed));
        RETURN NULL;
    END $$""",
    # A category renamed or moved: every product in it and beneath it.
    """CREATE FUNCTION catalog_search_category_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM catalog_search_refresh(array(
            WITH RECURSIVE subtree(id) AS (
                SELECT NEW.id UNION SELECT c.id FROM catalog_category c JOIN subtree ON c.parent_id = subtree.id)
            SELECT p.id FROM catalog_product p WHERE p.category_id IN (SELECT id FROM subtree)));
        RETURN NULL;
    END $$""",
]

# ProductPriceFrom: a write that can change a product's lowest price forgets the product's rows (every row, for a range
# change). A shared advisory lock, held to commit, lets the refresh (which takes it alone) see every write it
# computes from committed, and makes a write that comes during it forget what it wrote.
PRICE_FROM_LOCK = 9009
FORGET = """CREATE FUNCTION catalog_price_from_{kind}s() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock_shared({lock});
        IF TG_OP <> 'DELETE' THEN
            DELETE FROM catalog_productpricefrom WHERE product_id IN ({after_rows});
        END IF;
        IF TG_OP <> 'INSERT' THEN
            DELETE FROM catalog_productpricefrom WHERE product_id IN ({before_rows});
        END IF;
        RETURN NULL;
    END $$"""
PRODUCTS_OF = {  # the products a statement's rows (a transition table) touched
    "price": "SELECT v.product_id FROM catalog_variant v WHERE v.id IN (SELECT variant_id FROM {rows})",
    "variant": "SELECT product_id FROM {rows}",
}
PRICES_FROM = [
    *(FORGET.format(kind=kind, lock=PRICE_FROM_LOCK, after_rows=rows.format(rows="after_rows"),
                    before_rows=rows.format(rows="before_rows")) for kind, rows in PRODUCTS_OF.items()),
    f"""CREATE FUNCTION catalog_price_from_ranges() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock_shared({PRICE_FROM_LOCK});
        DELETE FROM catalog_productpricefrom;
        RETURN NULL;
    END $$""",
]
TRANSITIONS = {"INSERT": "REFERENCING NEW TABLE AS after_rows",
               "UPDATE": "REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows",
               "DELETE": "REFERENCING OLD TABLE AS before_rows"}
RANGE_TABLES = ["catalog_range", "catalog_range_variants", "catalog_range_channels", "catalog_range_locations"]

# (trigger, when it fires, its function, its table)
TRIGGERS = [
    ("catalog_search_products_added", "AFTER INSERT ON catalog_product REFERENCING NEW TABLE AS added",
     "catalog_search_products_added", "catalog_product"),
    ("catalog_search_products_changed", "AFTER UPDATE ON catalog_product REFERENCING OLD TABLE AS before_rows"
     " NEW TABLE AS after_rows", "catalog_search_products_changed", "catalog_product"),
    ("catalog_search_variants_added", "AFTER INSERT ON catalog_variant REFERENCING NEW TABLE AS added",
     "catalog_search_variants_added", "catalog_variant"),
    ("catalog_search_variants_changed", "AFTER UPDATE ON catalog_variant REFERENCING OLD TABLE AS before_rows"
     " NEW TABLE AS after_rows", "catalog_search_variants_changed", "catalog_variant"),
    ("catalog_search_variants_removed", "AFTER DELETE ON catalog_variant REFERENCING OLD TABLE AS removed",
     "catalog_search_variants_removed", "catalog_variant"),
    ("catalog_search_category_changed", "AFTER UPDATE OF name, parent_id ON catalog_category FOR EACH ROW"
     " WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.parent_id IS DISTINCT FROM NEW.parent_id)",
     "catalog_search_category_changed", "catalog_category"),
    *((f"catalog_price_from_{kind}_{event.lower()}", f"AFTER {event} ON catalog_{kind} {TRANSITIONS[event]}",
       f"catalog_price_from_{kind}s", f"catalog_{kind}") for kind in ("price", "variant") for event in TRANSITIONS),
    *((f"{table}_price_from", f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}", "catalog_price_from_ranges",
       table) for table in RANGE_TABLES),
]

INSTALL = [
    "ALTER TABLE catalog_product ADD COLUMN search_document tsvector",
    'CREATE TABLE catalog_searchword (word text COLLATE "C" PRIMARY KEY)',  # C collation: a LIKE prefix is a range
    *FUNCTIONS,
    *PRICES_FROM,
    *(f"CREATE TRIGGER {name} {when}{'' if 'FOR EACH ROW' in when else ' FOR EACH STATEMENT'}"
      f" EXECUTE FUNCTION {function}()" for name, when, function, _ in TRIGGERS),
    "SELECT catalog_search_refresh(array(SELECT id FROM catalog_product))",
    # Not fastupdate: a search never scans a pending list that grew since the last vacuum (the hourly popularity
    # refresh rewrites many rows, and each new row version is a new index entry).
    "CREATE INDEX catalog_product_search ON catalog_product USING gin (search_document) WITH (fastupdate = off)",
    "CREATE INDEX catalog_searchword_trigram ON catalog_searchword USING gist (word gist_trgm_ops)",
    # What Django's istartswith and startswith compile to, so a code's prefix is an index range.
    "CREATE INDEX catalog_variant_sku_prefix ON catalog_variant (upper(sku::text) text_pattern_ops)",
    "CREATE INDEX catalog_variant_barcode_prefix ON catalog_variant (barcode text_pattern_ops)",
]
UNINSTALL = [
    "DROP INDEX catalog_variant_barcode_prefix",
    "DROP INDEX catalog_variant_sku_prefix",
    *(f"DROP TRIGGER {name} ON {table}" for name, _, _, table in TRIGGERS),
    *(f"DROP FUNCTION {function}()" for function in dict.fromkeys(function for _, _, function, _ in TRIGGERS)),
    "DROP FUNCTION catalog_search_refresh(bigint[])",
    "DROP FUNCTION catalog_search_options(bigint)",
    "DROP FUNCTION catalog_search_categories(bigint)",
    "DROP TABLE catalog_searchword",
    "ALTER TABLE catalog_product DROP COLUMN search_document",
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in INSTALL:
            schema_editor.execute(sql)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in UNINSTALL:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [("catalog", "0008_product_images")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="units_sold_30d",
            field=models.PositiveIntegerField(
                default=0, editable=False, verbose_name="units sold in the last 30 days",
                help_text="Popularity: refreshed hourly from the orders (orders.popularity), not counting cancelled "
                "units.",
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(models.F("units_sold_30d").desc(), "name", name="product_popular"),
        ),
        migrations.CreateModel(
            name="ProductPriceFrom",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("amount", models.DecimalField(decimal_places=2, help_text="None: nothing sold there.", max_digits=12,
                                               null=True)),
                ("fresh_from", models.DateTimeField()),
                ("fresh_until", models.DateTimeField(help_text="Empty: until a price, variant or range changes.",
                                                     null=True)),
                ("channel", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                              to="catalog.channel")),
                ("product", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                              to="catalog.product")),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("product", "channel"),
                                                        name="one_price_from_per_channel")],
            },
        ),
        TrigramExtension(),  # PostgreSQL only (the operation skips other databases)
        migrations.RunPython(install, uninstall),
    ]
