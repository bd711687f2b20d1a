"""The shopper's web pages, server-rendered: browse and search, product pages with stores near you, the
basket (the same cart as the app), checkout, orders, receipts, account and returns."""
