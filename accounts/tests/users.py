"""Test users' shared password."""

PASSWORD = "correct horse battery staple"
