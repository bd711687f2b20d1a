"""Orders from every channel: quote, checkout (hold, authorise, record), routing, pricing with delivery
and tax, vouchers, the till, payments, captures and refunds through Stripe, and receipts."""
