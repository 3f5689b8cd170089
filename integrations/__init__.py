"""One package per outside system: client, fake server for tests, webhook route."""
