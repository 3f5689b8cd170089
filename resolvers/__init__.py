"""Use cases: scope the caller, open the transaction, call the domain, publish after commit."""
