"""Alipay open platform (RSA2): client (`client.py`) and a fake gateway for tests and demos (`fake.py`)."""
