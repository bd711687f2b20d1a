"""Orders from every channel, payments and refunds through Stripe, vouchers (issue #4)."""
