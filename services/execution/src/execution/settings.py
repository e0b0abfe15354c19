"""Execution settings (env prefix EXECUTION_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict
from svckit.settings import ServiceSettings


class ExecutionSettings(ServiceSettings):
    """Everything the execution engine needs; every value has a safe default."""

    model_config = SettingsConfigDict(env_prefix="EXECUTION_", extra="ignore",
                                      env_nested_delimiter="__")

    service_name: str = "execution"
    square_off_time: str = "15:15"
    """IST time intraday positions are squared off (before Dhan's 15:20)."""
    entry_cutoff_time: str = "15:15"
    """IST time from which no new entries are sent (a fill would land at/after square-off)."""
    session_open: str = "09:15"
    session_close: str = "15:30"
    use_calendar: bool = True
    """Ask marketdata's calendar whether the market is open (cached per minute)."""
    order_rate_per_s: int = 9
    """Order pacing per account, under Dhan's 10 orders/s."""
    lease_ttl_s: float = 15.0
    """How long a replica owns a deployment without a heartbeat."""
    heartbeat_s: float = 3.0
    claim_batch: int = 100
    """Deployments one replica takes per heartbeat (whole instruments, at least one)."""
    rebalance_batch: int = 5
    """Instruments a replica running more than its share hands back per heartbeat, for a
    replica that joined (0: never)."""
    stale_bar_s: float = 180.0
    """No bar for this long in market hours pauses new entries of that instrument."""
    md_lease_ttl_s: int = 120
    warmup_extra_bars: int = 200
    """Bars beyond the rule's lookback, so EMA-type indicators converge."""
    reconcile: bool = True
    """Compare positions with brokerage before a deployment trades after a (re)start."""
    request_timeout_s: float = 5.0
    commit_in_flight: int = 2
    """Bar commits running at once; instruments decided while they run join the next one
    (`batching.GroupCommit`). About Postgres's cores; 0 commits every instrument on its own."""
    state_every_bars: int = 15
    """Store a deployment's evaluator state every this many bars; on a restart the bars since
    are replayed from MD_BARS. 1 stores it on every bar."""
    state_max_age_s: float = 86_400.0
    """...and at least once in this span of bar time, well inside MD_BARS' 7 days."""
    gc_freeze_s: float = 60.0
    """Collect garbage and freeze the survivors this often (and after claiming deployments),
    so full collections never walk the whole heap in the middle of a bar; 0 leaves the
    interpreter's defaults."""
    outbox_grace_s: float = 5.0
    """The outbox relay publishes only rows older than this: newer ones are published (and
    marked) by the engine itself right after its commit, so no message goes out twice."""
    db_light_reset: bool = True
    """No reset round trip when a connection goes back to the pool (a bar's commit uses two):
    execution sets no session state, and removes its LISTENs itself."""
