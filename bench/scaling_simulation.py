"""Where each tier saturates for a city platform at release time (docs/scaling.md).

    .venv/bin/python bench/scaling_simulation.py
    .venv/bin/python bench/scaling_simulation.py --bookings 100000 --hospitals 300 --api-replicas 24
    .venv/bin/python bench/scaling_simulation.py --fanout-us 48 --booking-ms 2.4   # figures re-measured

A fluid model, not a queueing simulation: each tier is a pool of units (cores of API replicas, the
PostgreSQL primary, read replicas, Redis shards, the CDN's origin traffic) with a capacity per unit
derived from the per-request costs measured on this machine (the inputs below; each names the
benchmark and figure it comes from, and a flag to replace it). For the release minute it prints the
demand on each tier, the units it needs at the target utilisation, and the load multiple at which the
configured units are full; then it steps the booking rate up until the first tier saturates.

Measured inputs are marked [measured] and assumptions [assumed]; docs/scaling.md quotes the commands.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Inputs:
    # -- measured here (bench scripts on the 2-core machine; re-measure on the target hardware)
    booking_ms: float  # API CPU per successful booking          [measured] flash_crowd full path
    refusal_ms: float  # API CPU per sold-out refusal              [measured/target] flash_crowd
    booking_db_ms: float  # PostgreSQL CPU per booking             [measured] flash_crowd, decision 099
    browse_ms: float  # API CPU per uncached week-of-sessions read [measured] issue 18 (41-55/s/process)
    trivial_ms: float  # API CPU per request floor                 [measured] issue 18 (950/s/process)
    cached_get_ms: float  # API CPU per persisted GET from cache   [measured] persisted_queries
    fanout_us: float  # API CPU per board frame delivered          [measured] bench/fanout.py
    idle_display_kib: float  # API RSS per idle display socket     [measured] bench/fanout.py
    # -- assumed (what the measurements here cannot say)
    browse_db_ms: float  # database CPU per uncached browse read    [assumed]
    hot_row_ms: float  # slot-row lock hold per booking (one stmt)  [assumed from 099: 2 round trips]
    redis_ops_per_s: float  # one Redis shard, small commands       [assumed, redis-benchmark order]
    core_rss_mib: float  # memory per API core for sockets           [assumed]


@dataclass(frozen=True)
class Load:
    bookings: int  # seats taken in the release minute, city-wide
    attempts_per_booking: float  # presses per seat (refusals, retries)
    peak_share: float  # share of the minute's attempts in its busiest 10 s
    reads_per_attempt: float  # browse refreshes around each attempt
    cdn_hit_ratio: float  # persisted public GETs answered by the CDN
    hospitals: int
    rooms_per_hospital: int
    displays_per_room: float
    calls_per_room_per_minute: float
    phones_following: int  # patients watching myQueue (per-subscriber streams)
    busiest_session_rate: float  # bookings/s the most sought-after session receives


@dataclass(frozen=True)
class Deployment:
    api_replicas: int
    cores_per_replica: int
    db_primary_cores: int
    read_replicas: int
    read_replica_cores: int
    redis_shards: int
    target_utilisation: float


@dataclass(frozen=True)
class Tier:
    name: str
    demand: float  # units of work per second (core-seconds/s, ops/s...)
    capacity: float  # what the configured units deliver at 100 %
    unit: str
    per_unit: float  # capacity of one unit
    note: str

    def units_needed(self, target: float) -> int:
        return max(1, math.ceil(self.demand / (self.per_unit * target)))

    def saturates_at(self) -> float:
        return self.capacity / self.demand if self.demand else math.inf


def tiers(i: Inputs, load: Load, d: Deployment) -> list[Tier]:
    peak_attempts = load.bookings * load.attempts_per_booking * load.peak_share / 10.0
    peak_bookings = load.bookings * load.peak_share / 10.0
    refusals = peak_attempts - peak_bookings
    reads = peak_attempts * load.reads_per_attempt
    origin_reads = reads * (1 - load.cdn_hit_ratio)
    rooms = load.hospitals * load.rooms_per_hospital
    displays = rooms * load.displays_per_room
    calls_per_s = rooms * load.calls_per_room_per_minute / 60
    frames_per_s = calls_per_s * load.displays_per_room  # one frame per display of the called room
    api_cores = d.api_replicas * d.cores_per_replica

    api_cpu = (
        peak_bookings * i.booking_ms / 1000
        + refusals * i.refusal_ms / 1000
        + origin_reads * i.browse_ms / 1000
        + frames_per_s * i.fanout_us / 1e6
        # phones: per-subscriber streams, about ten times a board frame each (decision 095 figures)
        + calls_per_s * (load.phones_following / max(rooms, 1)) * 10 * i.fanout_us / 1e6
    )
    socket_mib = (displays + load.phones_following) * i.idle_display_kib / 1024
    # Each API process subscribes once per board channel it serves: Redis delivers a call once per
    # process with a display of that room, not once per display. Sharded pub/sub spreads channels.
    processes_per_channel = min(api_cores, load.displays_per_room * 2)
    redis_ops = (
        calls_per_s * (1 + processes_per_channel)  # PUBLISH + deliveries
        + peak_attempts * 2  # rate-limit bucket + idempotency/APQ lookups per attempt
        + origin_reads * 1  # APQ lookup
    )
    return [
        Tier(
            "API replicas (CPU)",
            api_cpu,
            api_cores,
            "cores",
            1.0,
            f"{peak_bookings:,.0f} bookings/s, {refusals:,.0f} refusals/s, "
            f"{origin_reads:,.0f} origin reads/s, {frames_per_s:,.0f} board frames/s",
        ),
        Tier(
            "API replicas (socket memory)",
            socket_mib,
            api_cores * i.core_rss_mib,
            "cores' RAM",
            i.core_rss_mib,
            f"{displays:,.0f} displays + {load.phones_following:,} phones at {i.idle_display_kib:g} KiB",
        ),
        Tier(
            "PostgreSQL primary (writes)",
            peak_bookings * i.booking_db_ms / 1000,
            d.db_primary_cores,
            "cores",
            1.0,
            "bookings only; refusals never reach the database (sold-out fast path)",
        ),
        Tier(
            "Hot slot row (one session)",
            # the busiest session takes a share of the city's bookings: a big hospital's popular expert
            min(peak_bookings, load.busiest_session_rate) * i.hot_row_ms / 1000,
            1.0,
            "row",
            1.0,
            "serialised on its slot row: 1/hot_row_ms bookings/s per session, whatever the replicas",
        ),
        Tier(
            "Read replicas",
            origin_reads * i.browse_db_ms / 1000,
            max(d.read_replicas, 1) * d.read_replica_cores,
            "cores",
            1.0,
            f"uncached browse reads after a {load.cdn_hit_ratio:.0%} CDN hit ratio",
        ),
        Tier(
            "Redis (pub/sub + buckets)",
            redis_ops,
            d.redis_shards * i.redis_ops_per_s,
            "shards",
            i.redis_ops_per_s,
            f"{calls_per_s:,.1f} calls/s fanned to <= {processes_per_channel:g} processes per channel",
        ),
    ]


def print_table(rows: list[Tier], d: Deployment, title: str) -> None:
    print(f"\n{title}")
    print(f"{'tier':<30} {'demand':>12} {'capacity':>12} {'busy':>6} {'needs':>9} {'saturates at':>13}  why")
    for tier in rows:
        busy = tier.demand / tier.capacity if tier.capacity else math.inf
        needs = f"{tier.units_needed(d.target_utilisation)} {tier.unit}"
        at = tier.saturates_at()
        print(
            f"{tier.name:<30} {tier.demand:>12,.1f} {tier.capacity:>12,.1f} {busy:>6.0%} {needs:>9} "
            f"{at:>12.1f}x  {tier.note}"
        )


def first_to_saturate(i: Inputs, load: Load, d: Deployment) -> tuple[int, str]:
    bookings = load.bookings
    while bookings < 100 * load.bookings:
        rows = tiers(i, Load(**{**vars(load), "bookings": bookings}), d)
        full = [t for t in rows if t.demand >= t.capacity * d.target_utilisation]
        if full:
            return bookings, full[0].name
        bookings = int(bookings * 1.1) + 1
    return bookings, "none within 100x"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    # measured inputs (defaults: the figures quoted in docs/scaling.md)
    a("--booking-ms", type=float, default=2.4, help="API CPU per booking (flash_crowd full path)")
    a("--refusal-ms", type=float, default=0.8, help="API CPU per sold-out refusal (issue 18.3: <= 1/3)")
    a("--booking-db-ms", type=float, default=1.2, help="PostgreSQL CPU per booking (decision 099)")
    a("--browse-ms", type=float, default=20.0, help="API CPU per uncached week read (issue 18)")
    a("--trivial-ms", type=float, default=1.05, help="API CPU per trivial request (issue 18)")
    a("--cached-get-ms", type=float, default=0.35, help="API CPU per cached persisted GET (decision 165)")
    a("--fanout-us", type=float, default=50.0, help="API CPU per board frame (bench/fanout.py)")
    a("--idle-display-kib", type=float, default=27.0, help="RSS per idle display (bench/fanout.py)")
    a("--browse-db-ms", type=float, default=3.0, help="[assumed] database CPU per uncached browse")
    a("--hot-row-ms", type=float, default=1.0, help="[assumed] slot-row lock hold per booking")
    a("--redis-ops", type=float, default=80_000, help="[assumed] ops/s of one Redis shard")
    a("--core-rss-mib", type=float, default=1024, help="[assumed] memory per API core for sockets")
    # the load
    a("--bookings", type=int, default=100_000, help="seats taken in the release minute")
    a("--attempts-per-booking", type=float, default=3.0)
    a("--peak-share", type=float, default=0.4, help="share of the minute's attempts in its busiest 10 s")
    a("--reads-per-attempt", type=float, default=4.0)
    a("--cdn-hit-ratio", type=float, default=0.9)
    a("--hospitals", type=int, default=300)
    a("--rooms-per-hospital", type=int, default=40)
    a("--displays-per-room", type=float, default=1.5)
    a("--calls-per-room-per-minute", type=float, default=0.3)
    a("--phones-following", type=int, default=60_000)
    a("--busiest-session-rate", type=float, default=200.0, help="bookings/s on the most sought-after session")
    # the deployment
    a("--api-replicas", type=int, default=48)
    a("--cores-per-replica", type=int, default=4)
    a("--db-primary-cores", type=int, default=32)
    a("--read-replicas", type=int, default=4)
    a("--read-replica-cores", type=int, default=16)
    a("--redis-shards", type=int, default=3)
    a("--target-utilisation", type=float, default=0.7)
    return p.parse_args()


def main() -> None:
    args = parse_args()
    inputs = Inputs(
        args.booking_ms,
        args.refusal_ms,
        args.booking_db_ms,
        args.browse_ms,
        args.trivial_ms,
        args.cached_get_ms,
        args.fanout_us,
        args.idle_display_kib,
        args.browse_db_ms,
        args.hot_row_ms,
        args.redis_ops,
        args.core_rss_mib,
    )
    load = Load(
        args.bookings,
        args.attempts_per_booking,
        args.peak_share,
        args.reads_per_attempt,
        args.cdn_hit_ratio,
        args.hospitals,
        args.rooms_per_hospital,
        args.displays_per_room,
        args.calls_per_room_per_minute,
        args.phones_following,
        args.busiest_session_rate,
    )
    deployment = Deployment(
        args.api_replicas,
        args.cores_per_replica,
        args.db_primary_cores,
        args.read_replicas,
        args.read_replica_cores,
        args.redis_shards,
        args.target_utilisation,
    )
    print("inputs:", ", ".join(f"{k}={v:g}" for k, v in vars(inputs).items()))
    print("load:  ", ", ".join(f"{k}={v:g}" for k, v in vars(load).items()))
    print("deploy:", ", ".join(f"{k}={v:g}" for k, v in vars(deployment).items()))
    print_table(tiers(inputs, load, deployment), deployment, "release minute, busiest 10 s (per second)")
    no_cdn = Load(**{**vars(load), "cdn_hit_ratio": 0.0})
    print_table(tiers(inputs, no_cdn, deployment), deployment, "the same without a CDN for persisted GETs")
    bookings, tier = first_to_saturate(inputs, load, deployment)
    print(
        f"\nfirst tier past {deployment.target_utilisation:.0%} as the release grows: {tier} "
        f"at about {bookings:,} bookings in the minute"
    )
    per_session = 1000 / inputs.hot_row_ms
    print(f"one session's ceiling (slot row): about {per_session:,.0f} bookings/s, whatever is added")


if __name__ == "__main__":
    main()
