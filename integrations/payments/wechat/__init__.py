"""WeChat Pay API v3: client (`client.py`) and a fake server for tests and demos (`fake.py`)."""
