"""Client organisations' data on request: export it all, or delete it all (GDPR)."""
