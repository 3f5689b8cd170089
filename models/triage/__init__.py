"""The offline pre-consultation engine (AI预问诊): a reviewable knowledge base, a raw-text matcher with
negation handling, red-flag rules and a small specialty scorer. Pure: no database, no network."""
