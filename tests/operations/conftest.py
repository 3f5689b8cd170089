from tests.http.conftest import client_with

__all__ = ["client_with"]
