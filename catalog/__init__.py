"""The one catalog every channel sells from: categories, products, variants, channels, prices."""
