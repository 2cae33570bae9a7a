"""ROBERT time: NTP seconds, 15-minute epochs from the service start."""

NTP_UNIX_DELTA = 2208988800
TIME_START = 3799958400  # 2020-06-01T00:00Z in NTP seconds
EPOCH_S = 900
DAY_S = 86400


def epoch_of(ntp):
    return (int(ntp) - TIME_START) // EPOCH_S


def epoch_start(epoch_id):
    return TIME_START + epoch_id * EPOCH_S


def day_of(ntp):
    """The UTC day number of an NTP time (days since 1900-01-01)."""
    return int(ntp) // DAY_S
