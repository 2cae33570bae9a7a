"""The provisioning station: registers new tokens with a ROBERT server and injects their keys.

`robert-provision` (provisioning.cli) is the operator's tool; docs/provisioning.md walks
through it.
"""
