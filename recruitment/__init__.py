"""User Interviews: the adapter, outbox handlers, webhooks, polling and cross-app orchestrations."""
