"""Sizes of a run: ``QUICK`` for routine use (about 6 minutes quiet), ``FULL`` for the figures of record."""
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
    small_people: int  # deliveries: people, in groups of ``small_group`` (the target's 50)
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
    # deliveries again with smaller groups (0: not run), for comparison with the first round's groups of 5
    also_small_group: int = 0
    also_delivery_rates: list = field(default_factory=list)
    # a day in the life: ``day_people`` (the last of the run's people) in ``day_conversations`` of 2 to
    # ``day_max_size`` members; ``day_rate`` messages/s for ``day_seconds``, a typing notice before most
    # messages, ``day_reads`` read marks per message, ``day_churn`` streams closed (and reopened with
    # Last-Event-ID after ``day_away`` seconds) per second
    day_people: int = 5000
    day_conversations: int = 1000
    day_max_size: int = 500
    day_rate: float = 100
    day_seconds: float = 60
    day_typing: float = 0.8
    day_reads: float = 0.5
    day_churn: float = 8.0
    day_away: tuple = (1.0, 10.0)

    @property
    def people(self):
        return max(self.idle_steps[-1], self.fanout_members, self.small_people, self.inbox_conversations + 1,
                   self.day_people)

    def as_dict(self):
        return asdict(self)


QUICK = Sizes(
    name="quick", idle_steps=[250, 500, 1000], cpu_window=2, storm_group=50, storm_rate=20, storm_seconds=8,
    storm_drop_after=3, fanout_members=200, fanout_messages=10, fanout_interval=0.5, small_people=500,
    small_group=50, delivery_rates=[5, 10, 20, 40, 80, 160, 320], step_seconds=3, sends_rate=200,
    sends_seconds=5, sends_concurrency=8, closed_seconds=5, history_messages=200_000,
    history_depths=[0, 10_000, 100_000, 190_000], history_samples=60, inbox_conversations=1000,
    redis_requests=50_000, pgbench_seconds=5, search_messages=100_000, search_samples=60,
    day_people=500, day_conversations=100, day_max_size=100, day_rate=25, day_seconds=15, day_churn=2.0,
    day_away=(1.0, 5.0),
)

FULL = Sizes(
    name="full", idle_steps=[1000, 2500, 5000, 7500, 10_000], cpu_window=10, storm_group=100, storm_rate=50,
    storm_seconds=20, storm_drop_after=5, fanout_members=1000, fanout_messages=20, fanout_interval=1.0,
    small_people=1000, small_group=50,
    delivery_rates=[5, 8, 10, 15, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480],
    also_small_group=5,
    also_delivery_rates=[25, 50, 75, 100, 150, 200, 300, 400, 600, 800, 1200, 1600, 2400, 3200, 4800],
    step_seconds=8, sends_rate=200, sends_seconds=15, sends_concurrency=8, closed_seconds=15,
    history_messages=1_000_000, history_depths=[0, 10_000, 100_000, 900_000], history_samples=300,
    inbox_conversations=1000, redis_requests=200_000, pgbench_seconds=15,
)
