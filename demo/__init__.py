"""Demo data for `make run` (development only): the "Acme Research" workspace, built through
Rally's services where a use case can run inside the seed's one transaction. Installed only
when DEBUG or SANDBOX_ENABLED is on; no Rally app imports it."""
