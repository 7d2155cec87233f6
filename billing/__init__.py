"""Money: pricing, budgets, the append-only ledger, reservations, payouts and receipts."""
