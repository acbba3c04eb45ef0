"""Helpers shared by the test groups: requests, SDK clients, serve processes, TLS."""
