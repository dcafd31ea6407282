"""Prometheus metrics for one process, in a registry the app owns (never the
library's global one, so that two apps in one test process stay apart).

Only counts, sizes and times: no room, user, content or search term is ever
a label value.
"""

from bisect import bisect_left

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

FRAME_TYPES = ("send", "ping", "other")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)  # seconds


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.connections = Gauge(
            "sealroom_websocket_connections", "Open WebSocket connections on this process.", registry=registry)
        self.connections_refused = Counter(
            "sealroom_websocket_refused", "WebSocket connections refused by a cap.", ["cap"], registry=registry)
        self.frames_received = Counter(
            "sealroom_websocket_frames_received", "Frames received from clients.", ["type"], registry=registry)
        self.deliveries = Deliveries(LATENCY_BUCKETS)
        registry.register(self.deliveries)
        self.messages = Counter(
            "sealroom_messages_stored", "Envelopes stored and published.", registry=registry)
        self.store_latency = Histogram(
            "sealroom_message_store_seconds",
            "From a send frame's arrival to its envelope stored and published.",
            buckets=LATENCY_BUCKETS, registry=registry)
        self.slow_consumers = Counter(
            "sealroom_slow_consumer_closes", "Sockets closed because they fell too far behind.", registry=registry)
        self.rate_limited = Counter(
            "sealroom_rate_limited", "Actions refused by a rate limit.", ["action"], registry=registry)
        self.sweeps = Counter(
            "sealroom_sweeper_runs", "Expiry sweeps, by result.", ["result"], registry=registry)
        self.rooms_expired = Counter(
            "sealroom_rooms_expired", "Rooms deleted by the expiry sweeper.", registry=registry)
        self.backups = Counter(
            "sealroom_backup_runs", "Scheduled backups, by result.", ["result"], registry=registry)
        self.last_backup = Gauge(
            "sealroom_last_backup_success_timestamp_seconds", "When the last scheduled backup succeeded.",
            registry=registry)

    def frame_received(self, kind) -> None:
        self.frames_received.labels(kind if kind in FRAME_TYPES else "other").inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class Deliveries:
    """Frames written to sockets, and their latency from this process's bus,
    kept as plain numbers and handed to the registry when it is scraped.

    They change once per frame per socket (tens of thousands of times a
    second when a big room is busy), always on the event loop, so the
    library's Counter and Histogram, which take a lock and walk the buckets
    on every call, cost more than the write they count."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.bounds = tuple(buckets)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.seconds = 0.0
        self.frames = 0

    def delivered(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1  # the first bucket whose bound is >= seconds
        self.seconds += seconds
        self.frames += 1

    def collect(self):
        yield CounterMetricFamily("sealroom_websocket_frames_sent", "Frames fanned out to sockets.",
                                  value=self.frames)
        cumulative, buckets = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts):
            cumulative += count
            buckets.append((floatToGoString(bound), cumulative))
        yield HistogramMetricFamily(
            "sealroom_delivery_latency_seconds",
            "From a frame reaching this process's bus to its being written on a socket.",
            buckets=buckets, sum_value=self.seconds)
