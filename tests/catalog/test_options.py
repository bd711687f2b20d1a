"""The order a product's options and their values are offered in: colour first, sizes in the order a shop
lists them whatever order the SKUs sort them in, colours as the product lists them."""
import random
from types import SimpleNamespace

import pytest

from catalog.options import option_names, option_values, size_key


def variants(*options: dict) -> list:
    return [SimpleNamespace(options=o) for o in options]


@pytest.mark.parametrize("natural", [
    ["XXS", "XS", "S", "M", "L", "XL", "XXL", "3XL", "4XL"],
    ["6", "8", "10", "12", "14", "16", "18"],
    ["4", "4.5", "5", "5.5", "6", "10", "11"],
    ["28/30", "28/32", "30/30", "30/32", "32/30", "32/32", "34/32"],
    ["30S", "30R", "30L", "32S", "32R", "32L"],
    ["W30 L30", "W30 L32", "W32 L30"],
    ["0-3M", "3-6M", "6-12M", "12-18M", "2-3Y", "4-5Y", "10-11Y"],
    ["20cm", "24cm", "28cm"],
    ["Single", "Double", "King", "Super King"],
    ["Small", "Medium", "Large"],
    ["S/M", "M/L", "L/XL"],
    ["Petite", "Regular", "Tall"],
    ["Slim fit", "Regular fit", "Relaxed fit"],
])
def test_sizes_sort_in_natural_order_whatever_order_they_come_in(natural):
    for seed in range(5):
        shuffled = natural[:]
        random.Random(seed).shuffle(shuffled)
        assert sorted(shuffled, key=size_key) == natural


def test_sizes_sorted_as_text_come_back_in_natural_order():
    assert sorted(["10", "12", "14", "16", "8"], key=size_key) == ["8", "10", "12", "14", "16"]
    assert sorted(["L", "M", "S", "XL", "XS"], key=size_key) == ["XS", "S", "M", "L", "XL"]


def test_one_size_comes_first_and_unknown_words_keep_their_order_at_the_end():
    assert sorted(["Cosy", "M", "One size", "Roomy", "S"], key=size_key) == ["One size", "S", "M", "Cosy", "Roomy"]


def test_colour_comes_first_then_fit_waist_leg_and_size_then_any_other_option_by_name():
    listed = variants({"size": "M", "colour": "Navy"}, {"size": "L", "colour": "Navy", "sleeve": "Long"},
                      {"leg": "32", "waist": "30", "fit": "Slim", "colour": "Black", "material": "Wool"})

    assert option_names(listed) == ["colour", "fit", "waist", "leg", "size", "material", "sleeve"]
    assert option_names(variants({})) == []


def test_colours_keep_the_order_the_variants_list_them_and_sizes_their_natural_order():
    listed = variants({"colour": "Navy", "size": "L"}, {"colour": "Navy", "size": "M"}, {"colour": "Burgundy",
                      "size": "XL"}, {"colour": "Navy", "size": "S"}, {"colour": "Ecru", "size": "M"},
                      {"colour": "Burgundy", "size": "S"})

    assert option_values(listed, "colour") == ["Navy", "Burgundy", "Ecru"]
    assert option_values(listed, "size") == ["S", "M", "L", "XL"]
    assert option_values(variants({"size": 10}, {"size": 8}), "size") == ["8", "10"]
    assert option_values(listed, "fit") == []
