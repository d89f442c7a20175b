"""Sizes of a run: ``QUICK`` for routine use (well under 5 minutes), ``FULL`` for the figures of record."""
from dataclasses import asdict, dataclass, field


@dataclass
class Sizes:
    name: str
    idle_steps: list  # streams held at each step of the ramp (the last is the target)
    cpu_window: float  # seconds of idle CPU measured at each step
    storm_group: int  # storm: people per group (every idle stream is in one)
    storm_rate: float  # messages/s while the storm happens
    storm_seconds: float
    storm_drop_after: float
    fanout_members: int
    fanout_messages: int
    fanout_interval: float
    small_people: int  # deliveries: people, in groups of ``small_group``
    small_group: int
    delivery_rates: list  # messages/s, stepped up until the knee
    step_seconds: float
    sends_rate: float
    sends_seconds: float
    sends_concurrency: int  # closed-loop clients, and pgbench clients
    closed_seconds: float
    history_messages: int
    history_depths: list
    history_samples: int
    inbox_conversations: int
    redis_requests: int
    pgbench_seconds: int
    connect_concurrency: int = 200
    resume_concurrency: int = 100_000  # everyone at once
    null_idle_steps: list = field(default_factory=list)
    search_messages: int = 1_000_000  # the search scenario's corpus, spread over search_conversations
    search_conversations: int = 1000
    search_samples: int = 200

    @property
    def people(self):
        return max(self.idle_steps[-1], self.fanout_members, self.small_people, self.inbox_conversations + 1)

    def as_dict(self):
        return asdict(self)


QUICK = Sizes(
    name="quick", idle_steps=[250, 500, 1000], cpu_window=2, storm_group=50, storm_rate=20, storm_seconds=8,
    storm_drop_after=3, fanout_members=200, fanout_messages=10, fanout_interval=0.5, small_people=500,
    small_group=5, delivery_rates=[25, 50, 100, 200, 400, 800, 1600, 3200], step_seconds=3, sends_rate=200,
    sends_seconds=5, sends_concurrency=8, closed_seconds=5, history_messages=200_000,
    history_depths=[0, 10_000, 100_000, 190_000], history_samples=60, inbox_conversations=1000,
    redis_requests=50_000, pgbench_seconds=5, search_messages=100_000, search_samples=60,
)

FULL = Sizes(
    name="full", idle_steps=[1000, 2500, 5000, 7500, 10_000], cpu_window=10, storm_group=100, storm_rate=50,
    storm_seconds=20, storm_drop_after=5, fanout_members=1000, fanout_messages=20, fanout_interval=1.0,
    small_people=1000, small_group=5,
    delivery_rates=[25, 50, 75, 100, 150, 200, 300, 400, 600, 800, 1200, 1600, 2400, 3200, 4800],
    step_seconds=8, sends_rate=200, sends_seconds=15, sends_concurrency=8, closed_seconds=15,
    history_messages=1_000_000, history_depths=[0, 10_000, 100_000, 900_000], history_samples=300,
    inbox_conversations=1000, redis_requests=200_000, pgbench_seconds=15,
)
