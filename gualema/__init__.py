"""Composition: settings, ASGI app assembly, authentication, command line (`python -m gualema`)."""
