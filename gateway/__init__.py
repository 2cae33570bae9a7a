"""The kiosk: where a pharmacist syncs a token with the ROBERT server.

Layers, bottom up: `transport` (USB serial, BLE GATT) gives a `link.Link`;
`token_client` speaks the sync protocol over it (docs/sync-protocol.md);
`robert_api` talks to the server; `flows` are the pharmacist's operations
(status, report, erase, retire); `cli` and `web` show them. The kiosk never
holds a token's keys: the token signs its own requests.
"""
