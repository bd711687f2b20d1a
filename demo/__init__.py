"""The demo shop a newcomer sees with `make demo`: a believable UK retailer's places, catalogue, prices, stock
and last 90 days of trade, and one back-office login per role. Development only; nothing else imports it."""
