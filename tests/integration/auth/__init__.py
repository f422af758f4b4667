"""End-to-end tests of authentication (issue 3). A package so that its conftest.py and helpers
are imported as auth.* and never shadow tests/integration/conftest.py."""
