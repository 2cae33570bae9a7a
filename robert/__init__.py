"""ROBERT protocol library (CPython): SKINNY-64-192, EBID/ECC, HELLO, MACs, tuples, time,
risk scoring and report validation. See docs/protocol-library.md."""
