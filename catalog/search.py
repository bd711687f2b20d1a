"""Finding products by what a shopper types (product_search) and putting a list in the order asked for (product_sort):
the one way the products API's `search` and `sort`, the shop's catalogue page and its home page find and order products.

On PostgreSQL a search is full-text over each product's search_document (migration 0009: English stemming, weighted
name › brand and categories › option values such as colour › description), ranked by ts_rank_cd. Before it, one
small query looks at each word: a word the catalogue has is matched as it is ("jumpers" is "jumper", "navy" matches
a navy variant); the last word, if only its start is known, as a prefix ("cardi"); an unknown word as the nearest
words the catalogue does know, by trigram similarity ("jeens" is "jeans"). A code finds the products whose SKU or
barcode starts with it, first. Every word must match. Other databases (SQLite) match each word, its plural ending
dropped, in the name, brand or description, or in an SKU, barcode or option value; a word nothing has, as the
catalogue's nearest word (difflib).
"""
import difflib
import re
from dataclasses import dataclass, replace
from datetime import datetime

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorExact, SearchVectorField
from django.db import connection
from django.db.models import Case, Exists, Expression, F, FloatField, OuterRef, Q, QuerySet, Value, When
from django.db.models.expressions import Col

from .models import Category, Channel, Product, Variant
from .selectors import with_price_from

MAX_WORDS = 8  # more words than a shopper types: the rest are ignored
MAX_WORD = 40
CODE_MATCHES = 50  # products found by an SKU or barcode prefix, at most
NEAR_WORDS = 2  # an unknown word stands for at most this many known words
NEAR_SIMILARITY = 0.3  # trigram similarity: "jeens" and "jeans" 0.33, "blak" and "black" 0.38 ("shrit": _swapped)
NEAR_SPREAD = 0.1
SPELLING_CUTOFF = 0.75  # SQLite's misspellings, difflib's ratio: "jeens"/"jeans" 0.8, "otte"/"tote" 0.75, "mug"/"rug" 0.67
WEIGHTS = [0.1, 0.2, 0.4, 1.0]  # D (description), C (options), B (brand, categories), A (name)
CODE_RANK = 10.0  # above any ts_rank_cd: an SKU or barcode typed is the product wanted

_UNRANKED = Value(0.0, output_field=FloatField())
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{2,63}")


class Sort:
    """The orders a product list can be put in (the API's `sort`, the shop's "Sort by")."""

    RELEVANCE, PRICE_LOW, PRICE_HIGH, NEWEST, POPULAR, NAME = (
        "relevance", "price_asc", "price_desc", "newest", "popular", "name")
    CHOICES = [
        (RELEVANCE, "Relevance"),
        (PRICE_LOW, "Price: low to high"),
        (PRICE_HIGH, "Price: high to low"),
        (NEWEST, "Newest"),
        (POPULAR, "Most popular"),
        (NAME, "Name: A to Z"),
    ]


def sort_chosen(sort: str | None, *, q: str) -> str:
    """The order a list is put in: `sort` when it is one a list searched (or not) for `q` offers, else the default,
    relevance when searching and name when not (relevance means nothing without a search)."""
    searching = bool(words_of(q))
    offered = {value for value, _ in Sort.CHOICES if searching or value != Sort.RELEVANCE}
    return sort if sort in offered else Sort.RELEVANCE if searching else Sort.NAME


def words_of(q: str) -> list[str]:
    """The words of a search, lower case, apostrophes dropped ("Men's" is "mens"), at most MAX_WORDS."""
    found = (re.sub(r"['’]", "", w.lower())[:MAX_WORD] for w in _WORD.findall(q))
    return list(dict.fromkeys(w for w in found if w))[:MAX_WORDS]


def product_search(queryset: QuerySet[Product], *, q: str, ranked: bool = True) -> QuerySet[Product]:
    """The products of `queryset` that match the search `q`, each annotated with `rank` (higher is nearer what was
    asked for); not ordered (product_sort puts them in order). Nothing to search for: all of them, rank 0. A list
    put in another order passes ranked=False: rank is then 0 and no match's relevance is worked out."""
    words = words_of(q)
    code = q.strip() if _CODE.fullmatch(q.strip()) else ""
    if not words and not code:
        return queryset.annotate(rank=_UNRANKED)
    found, rank = (_full_text if connection.vendor == "postgresql" else _fallback)(words, code)
    if found is None:
        return queryset.annotate(rank=_UNRANKED).none()
    return queryset.filter(found).annotate(rank=rank if ranked else _UNRANKED)


def product_sort(products: QuerySet[Product], *, sort: str, channel: Channel, at: datetime | None = None,
                 location=None) -> QuerySet[Product]:
    """`products` in the order `sort` (a Sort value) asks for: relevance needs product_search's `rank` (without it,
    by name); the price sorts go by each product's lowest price in force on the channel (selectors.with_price_from),
    products without one last; popular by units sold in the last 30 days. Ties by name; never an unstable order."""
    if sort == Sort.RELEVANCE and "rank" in products.query.annotations:
        return products.order_by("-rank", "-units_sold_30d", "name", "id")
    if sort in (Sort.PRICE_LOW, Sort.PRICE_HIGH):
        priced = with_price_from(products, channel=channel, at=at, location=location)
        price = F("price_from").asc(nulls_last=True) if sort == Sort.PRICE_LOW else F("price_from").desc(nulls_last=True)
        return priced.order_by(price, "name", "id")
    if sort == Sort.NEWEST:
        return products.order_by("-created_at", "-id")
    if sort == Sort.POPULAR:
        return products.order_by("-units_sold_30d", "name", "id")
    return products.order_by("name", "id")


# PostgreSQL ---------------------------------------------------------------------------------------------------------

_DOCUMENT = SearchVectorField()
_DOCUMENT.set_attributes_from_name("search_document")


class _SearchDocument(Expression):
    """The products' search_document column: PostgreSQL's only and not a model field (see Product), so it is never
    loaded with a product. Resolves to the column of the query's product table, relabelled like any other."""

    output_field = _DOCUMENT

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False):
        return Col(query.get_initial_alias(), _DOCUMENT)


@dataclass(frozen=True)
class _Word:
    word: str
    stop: bool  # English leaves it out ("the", "and")
    known: bool  # some active product's document has it
    known_prefix: bool  # the catalogue has a word starting with it (asked of the last word only: "cardi")
    near: tuple[str, ...] = ()  # unknown: the nearest words the catalogue knows, nearest first


# Each word's question is its own constant subquery: the planner then stops at the first match of a common word,
# where one subquery over a list of words built every word's whole bitmap (4 ms against 0.05 ms for "navy jumper").
_KNOWN = "EXISTS (SELECT 1 FROM catalog_product p WHERE p.search_document @@ to_tsquery('english', %s) AND p.is_active)"
# Asked of the catalogue's words, not the documents: PostgreSQL plans an EXISTS over a prefix tsquery as a scan of
# every document (30 ms when nothing starts so), where this is one probe of an index. The words are letters, digits
# and inner hyphens only (words_of), so none is a LIKE wildcard.
_STARTS = "EXISTS (SELECT 1 FROM catalog_searchword s WHERE s.word LIKE %s)"
_CODED = ("(SELECT coalesce(array_agg(DISTINCT c.product_id), '{}') FROM (SELECT v.product_id FROM catalog_variant v"
          " WHERE v.is_active AND (upper(v.sku::text) LIKE upper(%s) OR v.barcode LIKE %s) LIMIT %s) c)")
_IN_USE = ("EXISTS (SELECT 1 FROM catalog_product p WHERE p.search_document @@ plainto_tsquery('english', s.word)"
           " AND p.is_active)")  # a catalogue word `s` that some active product still has
# An unknown word's nearest catalogue words (a trigram nearest-neighbour scan of the small catalog_searchword table)
# in use; none for a word the catalogue has spelled before ("green" once no product is green is not a misspelt
# "grey"). Two letters swapped ("shrit") share too few trigrams with the word meant, so the words it spells with one
# pair of neighbouring letters swapped are asked too (primary-key probes), and win when there are.
_NEAR = ("SELECT %s, array(SELECT s.word || ' ' || similarity(s.word, %s) FROM catalog_searchword s"
         f" WHERE similarity(s.word, %s) >= %s AND {_IN_USE}"
         " AND NOT EXISTS (SELECT 1 FROM catalog_searchword spelt WHERE spelt.word = %s)"
         " ORDER BY s.word <-> %s LIMIT %s),"
         f" array(SELECT s.word FROM catalog_searchword s WHERE s.word = ANY(%s::text[]) AND {_IN_USE}"
         " AND NOT EXISTS (SELECT 1 FROM catalog_searchword spelt WHERE spelt.word = %s) ORDER BY s.word)")


def _look(words: list[str], code: str) -> tuple[list[_Word], list[int]]:
    """What the catalogue knows of each word, and the products a code names: one query, and one more for typos."""
    columns, params = [], []
    for n, word in enumerate(words, start=1):
        columns += ["numnode(to_tsquery('english', %s)) = 0", _KNOWN]
        params += [word, word]
        if n == len(words):
            columns.append(_STARTS)
            params.append(f"{word}%")
    if code:
        prefix = re.sub(r"([\\%_])", r"\\\1", code) + "%"
        columns.append(_CODED)
        params += [prefix, prefix, CODE_MATCHES]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)}", params)
        row = list(cursor.fetchone())
    by_code = row.pop() if code else []
    looked = [_Word(word, *row[2 * n:2 * n + 2], known_prefix=False) for n, word in enumerate(words)]
    if looked:
        looked[-1] = replace(looked[-1], known_prefix=row[-1])
    unknown = [w.word for w in looked if not (w.stop or w.known or w.known_prefix)]
    if unknown and not by_code:  # a code typed is what was meant, not a misspelt word
        near = _near(unknown)
        looked = [replace(w, near=near.get(w.word, ())) for w in looked]
    return looked, by_code


def _swapped(word: str) -> list[str]:
    """The word with each pair of neighbouring letters swapped: "shrit" gives "hsrit", "srhit", "shirt", "shrti"."""
    return sorted({word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1)} - {word})


def _near(words: list[str]) -> dict[str, tuple[str, ...]]:
    """For each word, the catalogue's words it spells with two neighbouring letters swapped ("shrit" is "shirt"),
    else those at least NEAR_SIMILARITY alike, nearest first, no more than NEAR_SPREAD less alike than the nearest:
    "jeens" is "jeans", "dres" is "dresses" or "dress"."""
    params = []
    for word in words:
        params += [word, word, word, NEAR_SIMILARITY, word, word, NEAR_WORDS, _swapped(word), word]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join([_NEAR] * len(words)), params)
        found = {}
        for word, candidates, swapped in cursor.fetchall():
            scored = [(w, float(score)) for w, score in (c.rsplit(" ", 1) for c in candidates)]
            found[word] = tuple(swapped[:NEAR_WORDS]) or tuple(
                w for w, score in scored if score >= scored[0][1] - NEAR_SPREAD)
    return found


def _tsquery(words: list[_Word]) -> str | None:
    """The words as to_tsquery('english', …) text: every word must match; None when one cannot. The words are
    letters, digits and inner hyphens only (words_of), so none of them is an operator."""
    terms = []
    for w in words:
        if w.stop:
            continue
        if w.known:
            terms.append(w.word)
        elif w.known_prefix:
            terms.append(f"{w.word}:*")
        elif w.near:
            terms.append("(" + " | ".join(w.near) + ")")
        else:
            return None
    return " & ".join(terms) or None


def _full_text(words: list[str], code: str) -> tuple[Q | None, Expression]:
    """What a product must match, and its rank; None when nothing can."""
    looked, by_code = _look(words, code)
    text = _tsquery(looked)
    if text is None and not by_code:
        return None, _UNRANKED
    rank, found = _UNRANKED, Q(pk__in=by_code)
    if text is not None:
        query = SearchQuery(text, search_type="raw", config="english")
        document = _SearchDocument()
        rank = SearchRank(document, query, weights=WEIGHTS, cover_density=True)
        found |= Q(SearchVectorExact(document, query))
    if by_code:
        rank = Case(When(pk__in=by_code, then=Value(CODE_RANK)), default=rank, output_field=FloatField())
    return found, rank


# Other databases ----------------------------------------------------------------------------------------------------


def _singular(word: str) -> str:
    """A crude English singular, good enough to find "jumpers" as "jumper" by substring."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3]
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _fallback(words: list[str], code: str) -> tuple[Q, Expression]:
    """Every word (its plural ending dropped) in the name, brand or description, or in an active variant's SKU,
    barcode or option values ("navy"; so a code needs nothing of its own); those with every word in the name first.
    A word no active product has anywhere is read as the nearest word of the catalogue (_vocabulary), if one is near
    enough (SPELLING_CUTOFF)."""
    found, in_name, vocabulary = Q(), Q(), None
    for word in map(_singular, words):
        matches = _matching(word)
        if not Product.objects.active().filter(matches).exists():  # an SKU or barcode typed matches: never corrected
            vocabulary = _vocabulary() if vocabulary is None else vocabulary
            near = difflib.get_close_matches(word, vocabulary, n=1, cutoff=SPELLING_CUTOFF)
            if near:
                word, matches = near[0], _matching(near[0])
        found &= matches
        in_name &= Q(name__icontains=word)
    return found, Case(When(in_name, then=Value(1.0)), default=Value(0.0), output_field=FloatField())


def _matching(word: str) -> Q:
    coded = Variant.objects.filter(product=OuterRef("pk"), is_active=True).filter(
        Q(sku__icontains=word) | Q(barcode__icontains=word) | Q(options__icontains=word))
    return Q(name__icontains=word) | Q(brand__icontains=word) | Q(description__icontains=word) | Q(Exists(coded))


def _vocabulary() -> list[str]:
    """The words (plural endings dropped) of the active products' names and brands, the categories' names and the
    variants' option values: what a misspelt word is compared with. Read afresh for each search that needs it, as
    SQLite holds a demo's or a developer's few hundred products."""
    products = Product.objects.active()
    texts = [text for pair in products.values_list("name", "brand") for text in pair]
    texts += Category.objects.values_list("name", flat=True)
    texts += [str(value) for options in Variant.objects.filter(is_active=True, product__in=products)
              .values_list("options", flat=True) for value in (options or {}).values()]
    return sorted({_singular(word) for text in texts for word in words_of(text)})
