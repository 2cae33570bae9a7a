"""The token's two GATT services, one definition for the token ports and the kiosk.

- The **sync service** (ours): the kiosk writes frames to RX (write without
  response) and the token answers by notifications on TX (docs/sync-protocol.md).
- The **ROBERT exchange service** (the TousAntiCovid apps'): 16-bit service
  0xFD64 with one WRITE characteristic into which a phone writes its payload
  HELLO(16) || version(1) || txPower(1) (ROBERT-PROTOCOL.md, "How the real apps
  exchange HELLOs"; Android `BleGattManagerImpl`, iOS `BluetoothCentralManager`).

Strings only: each port turns them into its stack's UUID type
(`bluetooth.UUID`, `_bleio.UUID`, Bumble's `UUID`).
"""

SYNC_SERVICE_UUID = "6e0a0001-8b53-4d4a-9f6c-524f42455254"
SYNC_RX_UUID = "6e0a0002-8b53-4d4a-9f6c-524f42455254"  # kiosk -> token, write without response
SYNC_TX_UUID = "6e0a0003-8b53-4d4a-9f6c-524f42455254"  # token -> kiosk, notify

EXCHANGE_SERVICE_UUID16 = 0xFD64
EXCHANGE_SERVICE_UUID = "0000fd64-0000-1000-8000-00805f9b34fb"
EXCHANGE_CHAR_UUID = "a8f12d00-ee67-478b-b95f-65d599407756"  # WRITE (with response), as the apps
EXCHANGE_PAYLOAD_MIN = 18  # HELLO(16) || version || txPower; Android BlePayloadTest refuses shorter
EXCHANGE_PAYLOAD_MAX = 64  # longer writes are refused too: nothing but the payload is ever taken


def uuid_bytes(uuid):
    """The 16 bytes of a 128-bit UUID string, most significant first (adverts carry them reversed)."""
    h = uuid.replace("-", "")
    return bytes(int(h[i:i + 2], 16) for i in range(0, 32, 2))
