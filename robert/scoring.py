"""Risk scoring v2 of robert-server: per-contact score, per-registration risk.

Constants are those of robert-server's default configuration (ROBERT-PROTOCOL.md,
"Risk scoring"). One deliberate reading: the soft maximum is
`b * ln(mean(exp(x / b)))` (a mean, as robert-server computes it), so a contact
whose windows all have gamma 0 scores 0; with a sum it would score b*ln(n) > 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from robert.timeutil import EPOCH_SECONDS, EPOCHS_PER_DAY

MINUTES_PER_EPOCH = EPOCH_SECONDS // 60      # 15 one-minute bins
RSSI_DROP_ABOVE = -5                         # rssiCalibrated > -5 dBm is dropped (saturated)
RSSI_CLIP = -35                              # then clipped at -35 dBm
SOFTMAX_A = 4.342                            # soft max of the RSSI of a 2-minute window
SOFTMAX_B = 0.2                              # soft max of the window gammas
P0 = -66.0                                   # RSSI at which gamma is 0
DELTAS = (39.0, 27.0, 23.0, 21.0, 20.0, 15.0)  # gamma scale by messages in the window (capped)
GAIN = 1.2
EPOCH_TOLERANCE = 180                        # a contact may span 900 + 180 s, else it scores 0
R0 = 0.0071                                  # risk = 1 - exp(-R0 * sum of scores)
RISK_THRESHOLD = 0.1
AT_RISK_DAYS = 7                             # the last exposure must be this recent


def soft_max(values: Sequence[float], coef: float) -> float:
    """coef * ln(mean(exp(v / coef))): a smooth maximum; 0 for no values."""
    if not values:
        return 0.0
    top = max(values)
    total = math.fsum(math.exp((v - top) / coef) for v in values)
    return top + coef * math.log(total / len(values))


def _exp_a(rssi: float) -> float:
    return math.exp(rssi / SOFTMAX_A)


_EXP_A = {r: _exp_a(r) for r in range(-255, RSSI_CLIP + 1)}   # exp(rssi / a) of integer RSSI


def contact_score(messages: Iterable[tuple[int, int]]) -> float:
    """Score of one contact: `messages` are (timeCollectedOnDevice NTP s, rssiCalibrated).

    Roughly the number of minutes spent close to the emitter: a 15-minute contact at
    -50 dBm with a HELLO every 30 s scores about 13.3. Bins keep sum(exp(rssi/a)) and a
    count, so each window's soft max is one log (same value as `soft_max`).
    """
    msgs = list(messages)
    if not msgs:
        return 0.0
    first = min(t for t, _ in msgs)
    if max(t for t, _ in msgs) - first > EPOCH_SECONDS + EPOCH_TOLERANCE:
        return 0.0
    sums = [0.0] * (MINUTES_PER_EPOCH + 1)   # one spare empty bin closes the last window
    counts = [0] * (MINUTES_PER_EPOCH + 1)
    for t, rssi in msgs:
        minute = (t - first) // 60
        if minute > MINUTES_PER_EPOCH:       # robert-server folds late messages into the
            minute = MINUTES_PER_EPOCH - 1   # last bin but drops those of minute 15 itself
        if minute < MINUTES_PER_EPOCH and rssi <= RSSI_DROP_ABOVE:
            clipped = min(rssi, RSSI_CLIP)
            e = _EXP_A.get(clipped)
            sums[minute] += _exp_a(clipped) if e is None else e
            counts[minute] += 1
    gammas = []
    k_max = 0
    last_delta = len(DELTAS) - 1
    for k in range(MINUTES_PER_EPOCH):
        n = counts[k] + counts[k + 1]
        if not n:
            continue
        k_max = k
        q = SOFTMAX_A * math.log((sums[k] + sums[k + 1]) / n)
        gamma = (q - P0) / DELTAS[n if n < last_delta else last_delta]
        gammas.append(0.0 if gamma <= 0.0 else 1.0 if gamma >= 1.0 else gamma)
    return min(soft_max(gammas, SOFTMAX_B) * GAIN, 1.0) * k_max


def risk_from_scores(scores: float | Iterable[float]) -> float:
    """1 - exp(-R0 * S), S the sum of contact scores since the last notification."""
    total = scores if isinstance(scores, (int, float)) else math.fsum(scores)
    return 1.0 - math.exp(-R0 * total)


def is_at_risk(risk: float, last_exposure_epoch: int | None = None,
               now_epoch: int | None = None) -> bool:
    """At risk when risk >= 0.1 and (if epochs are given) the last exposure is < 7 days old."""
    if risk < RISK_THRESHOLD:
        return False
    if last_exposure_epoch is None or now_epoch is None:
        return True
    return now_epoch - last_exposure_epoch <= AT_RISK_DAYS * EPOCHS_PER_DAY
