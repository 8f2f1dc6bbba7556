"""API plumbing shared by the apps: ids, responses, parsers, errors, schema."""
