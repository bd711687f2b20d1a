"""The one catalog every channel sells from: categories, products, variants, channels, prices per channel
and store, ranges, tax rates, and the one rule of what is sold where."""
