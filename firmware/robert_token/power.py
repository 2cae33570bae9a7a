"""Power model: average current and battery life of a schedule, from datasheet figures.

The scheduler reads its settings (`DEFAULT_SCHEDULE`) from here, so the
schedule that runs is the one the model was computed for.

Figures (3 V supply):
- nRF52840 (Nordic nRF52840 Product Specification v1.7, DC/DC on): radio TX
  at 0 dBm 4.8 mA, RX at 1 Mbps 4.6 mA, CPU running from flash 3.3 mA at
  64 MHz, System ON idle with RTC and full RAM retention 3.16 uA; radio
  ramp-up 140 us.
- ESP32 (Espressif ESP32 datasheet v4.x): TX at 0 dBm about 130 mA, RX 95 mA,
  CPU at 80 MHz 20 mA, light sleep with the BLE controller kept 1.0 mA (no
  deep sleep while advertising).
An advertising event sends on 3 channels; one legacy advert of 31 bytes of
data takes (1 + 4 + 2 + 6 + 31 + 3) bytes * 8 us = 376 us on air.

The FD64 GATT exchange (ROBERT-PROTOCOL.md, "How the real apps exchange
HELLOs"; the air times connections with the same figures, hil_tests/sim/gatt.py):
- connectable adverts (ADV_IND) make the advertiser listen after each of its
  3 packets for a CONNECT_IND or SCAN_REQ: T_IFS 150 us plus the start of a
  packet (preamble + access address, 40 us) plus the controller's margin,
  `CONNECTABLE_LISTEN_US` per channel;
- one exchange (an iPhone writing its payload) is `EXCHANGE_EVENTS` connection
  events `CONN_INTERVAL_MS` apart (MTU exchange, service discovery 2 round
  trips, characteristic discovery 2, the write, the termination; a response
  comes one event after its request). As peripheral, each event opens a
  receive window (with window widening) then answers: `CONN_EVENT_US` of
  radio, plus two ramp-ups and the stack's CPU time per event; the HELLO is
  then logged like a received advert (`cpu_per_rx_us`).
"""

DEFAULT_SCHEDULE = {
    "adv_interval_ms": 500,  # non-connectable, 3 channels
    # Settled by the detection study (docs/bench.md, "The detection study"): 13.2 months on the
    # day profile below, tokens notified at least as often as phones over the whole grid.
    "scan_window_ms": 300,  # alone: a passive scan window ...
    "scan_interval_ms": 60000,  # ... once a minute notices company within a minute
    "busy_scan_window_ms": 300,  # while neighbours are heard (scanner.ScanPolicy) ...
    "busy_scan_interval_ms": 10000,  # ... every 10 s: 5+ HELLOs per 2-minute scoring window
    "busy_hold_s": 120,  # the busy plan holds this long after the last HELLO heard
    "hello_rebuild_s": 20,  # new Time16 + MAC at least every 30 s
    "syncs_per_month": 2,
    "log_flush_s": 900,  # contact log batch written at least this often (and at each epoch)
    "sync_window_s": 120,  # once a day, a connectable sync window for a home gateway (token.py)
    "sync_adv_interval_ms": 200,  # advert interval inside that window (the HELLO advert pauses)
}

MODELS = {
    "nrf52840": {"tx_ma": 4.8, "rx_ma": 4.6, "cpu_ma": 3.3, "sleep_ua": 3.16, "ramp_us": 140,
                 "cpu_per_adv_us": 150, "cpu_per_rx_us": 400, "cpu_per_hello_us": 2000,
                 "sync_mas": 600.0},  # a 2-minute BLE sync at 5 mA (USB syncs run on USB power)
    "esp32": {"tx_ma": 130.0, "rx_ma": 95.0, "cpu_ma": 20.0, "sleep_ua": 1000.0, "ramp_us": 100,
              "cpu_per_adv_us": 300, "cpu_per_rx_us": 300, "cpu_per_hello_us": 1000,
              "sync_mas": 12000.0},
}
CONN_INTERVAL_MS = 30  # iOS central's usual connection interval (15 ms is its minimum)
EXCHANGE_EVENTS = 14  # connection events of one exchange (see above)
CONN_EVENT_US = 600  # radio on per connection event as peripheral (RX window + widening + reply)
CONN_EVENT_CPU_US = 100  # stack work per connection event
CONNECTABLE_LISTEN_US = 200  # listening after each ADV_IND packet, per channel
ADV_AIR_US = (1 + 4 + 2 + 6 + 31 + 3) * 8
ADV_CHANNELS = 3
RX_PER_WINDOW = 30  # adverts received in a busy scan window (each costs CPU time)
BUSY_HOURS = 8.0  # the day profile: 8 h among people (busy plan), 16 h alone (idle plan)
USABLE_FRACTION = 0.85  # self-discharge, cut-off voltage, temperature
HOURS_PER_MONTH = 730.0


def exchange_uc(model="nrf52840"):
    """Charge in uC of one GATT exchange (a phone connects and writes its payload)."""
    m = MODELS[model]
    radio_ma = (m["rx_ma"] + m["tx_ma"]) / 2.0
    per_event = (CONN_EVENT_US + 2 * m["ramp_us"]) * radio_ma + CONN_EVENT_CPU_US * m["cpu_ma"]
    return (EXCHANGE_EVENTS * per_event + m["cpu_per_rx_us"] * m["cpu_ma"]) / 1000.0


def average_current_ua(model="nrf52840", schedule=None, exchanges_per_hour=0.0, connectable=True,
                       busy_hours=BUSY_HOURS):
    """Average current in uA for a model and schedule over the day profile, with its parts (a dict).

    `connectable`: the adverts are ADV_IND (the port runs the FD64 exchange);
    `exchanges_per_hour`: phones' connections to the token (an iPhone nearby
    connects at most once a minute, so 60 per hour per iPhone in range).
    The day profile spends `busy_hours` a day on the busy scan plan, the rest alone.
    """
    s = dict(DEFAULT_SCHEDULE)
    if schedule is not None:
        s.update(schedule)
    m = MODELS[model]
    busy = busy_hours / 24.0
    scan_ua = rx_ua = 0.0
    for share, window, interval in ((1.0 - busy, s["scan_window_ms"], s["scan_interval_ms"]),
                                    (busy, s.get("busy_scan_window_ms") or s["scan_window_ms"],
                                     s.get("busy_scan_interval_ms") or s["scan_interval_ms"])):
        scan_ua += share * window / float(interval) * m["rx_ma"] * 1000.0
        rx_ua += share * RX_PER_WINDOW * m["cpu_per_rx_us"] * m["cpu_ma"] / 1000.0 / (interval / 1000.0)
    adv_per_s = 1000.0 / s["adv_interval_ms"]
    adv_uc = ADV_CHANNELS * (ADV_AIR_US + m["ramp_us"]) * m["tx_ma"] / 1000.0 + m["cpu_per_adv_us"] * m["cpu_ma"] / 1000.0
    hello_ua = m["cpu_per_hello_us"] * m["cpu_ma"] / 1000.0 / s["hello_rebuild_s"]
    sync_ua = s["syncs_per_month"] * m["sync_mas"] / (HOURS_PER_MONTH * 3600.0) * 1000.0
    listen_ua = adv_per_s * ADV_CHANNELS * CONNECTABLE_LISTEN_US * m["rx_ma"] / 1000.0 if connectable else 0.0
    exchange_ua = exchanges_per_hour * exchange_uc(model) / 3600.0
    parts = {"advertising": adv_per_s * adv_uc, "connectable": listen_ua, "exchanges": exchange_ua,
             "scanning": scan_ua, "receptions": rx_ua,
             "hello": hello_ua, "sync": sync_ua, "sleep": m["sleep_ua"]}
    return sum(parts.values()), parts


def battery_months(capacity_mah=1000, model="nrf52840", schedule=None, exchanges_per_hour=0.0,
                   connectable=True, busy_hours=BUSY_HOURS):
    """Months of life on a battery of `capacity_mah`, after the usable fraction."""
    ua, _ = average_current_ua(model, schedule, exchanges_per_hour, connectable, busy_hours)
    return capacity_mah * USABLE_FRACTION * 1000.0 / ua / HOURS_PER_MONTH


def battery_pct(mv):
    """Rough charge left of a lithium primary cell (3.0 V full, 2.0 V empty)."""
    pct = (mv - 2000) // 10
    return 0 if pct < 0 else (100 if pct > 100 else pct)
