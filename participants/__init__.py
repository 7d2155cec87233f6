"""People and applications: applicants, screener responses, review and the participation limit."""
