"""Transports that carry the sync protocol: USB serial (`serial`) and BLE GATT (`ble`)."""
