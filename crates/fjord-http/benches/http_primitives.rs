//! Each runtime primitive of `src/rt` against the tokio primitive it
//! replaces, single-threaded and contended; prints a Markdown table.
//!
//! ```text
//! cargo bench -p fjord-http --bench http_primitives
//! ```
//!
//! Every case times a fixed number of operations, ours and tokio's in
//! turn, `SAMPLES` times each (the whole run takes about a minute). A
//! side is faster when it won at least 9 of the 11 pairs and by 5% or
//! more at the median; otherwise the difference is within noise. Results:
//! bench/results/http-primitives.md.

#![allow(missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::io::{Read, Write};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

// The primitives themselves, compiled into this bench (they are private
// to the crate); `rt` uses nothing else of it.
#[allow(dead_code, unreachable_pub, unused_imports)]
#[path = "../src/rt/mod.rs"]
mod rt;

use rt::pool::Pool;
use rt::signal::Signals;
use rt::timeout::{ClientTimeouts, Watched};

const SAMPLES: usize = 11;

/// Runs `ours` and `tokio` in turn, `SAMPLES` times each (after one
/// warm-up of each), so that load from elsewhere falls on both alike.
/// Returns nanoseconds per operation of each sample, in run order.
fn pair(
    ops: u64,
    mut ours: impl FnMut() -> Duration,
    mut tokio: impl FnMut() -> Duration,
) -> (Vec<f64>, Vec<f64>) {
    ours();
    tokio();
    let per_op = |d: Duration| d.as_nanos() as f64 / ops as f64;
    (0..SAMPLES)
        .map(|_| (per_op(ours()), per_op(tokio())))
        .unzip()
}

struct Row {
    case: &'static str,
    ours: Vec<f64>,
    tokio_name: &'static str,
    tokio: Vec<f64>,
}

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

fn median(v: &[f64]) -> f64 {
    sorted(v)[v.len() / 2]
}

fn fmt_ns(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2} µs", v / 1000.0)
    } else {
        format!("{v:.1} ns")
    }
}

/// A sign test on the interleaved pairs: a side is faster when it won at
/// least 9 of the 11 pairs (one-sided p < 0.05) and by 5% or more at the
/// median; anything else is within noise.
fn verdict(ours: &[f64], tokio: &[f64]) -> &'static str {
    let wins = ours.iter().zip(tokio).filter(|(o, t)| o < t).count();
    let gain = median(tokio) / median(ours);
    if wins >= 9 && gain >= 1.05 {
        "ours faster"
    } else if wins <= SAMPLES - 9 && gain <= 1.0 / 1.05 {
        "tokio faster"
    } else {
        "within noise"
    }
}

fn print(rows: &[Row]) {
    println!(
        "| case | ours: median (min–max) | tokio primitive | tokio: median (min–max) | gain | ours won | verdict |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        let (o, t) = (sorted(&r.ours), sorted(&r.tokio));
        let wins = r.ours.iter().zip(&r.tokio).filter(|(o, t)| o < t).count();
        println!(
            "| {} | {} ({}–{}) | {} | {} ({}–{}) | {:.2}× | {wins}/{SAMPLES} | {} |",
            r.case,
            fmt_ns(median(&o)),
            fmt_ns(o[0]),
            fmt_ns(o[o.len() - 1]),
            r.tokio_name,
            fmt_ns(median(&t)),
            fmt_ns(t[0]),
            fmt_ns(t[t.len() - 1]),
            median(&t) / median(&o),
            verdict(&r.ours, &r.tokio),
        );
    }
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

// ---- pool vs Semaphore -------------------------------------------------

/// A request's slot when one is free: take and give back.
fn pool_uncontended(rows: &mut Vec<Row>) {
    const OPS: u64 = 2_000_000;
    let pool = Pool::new(100);
    let sem = tokio::sync::Semaphore::new(100);

    let (ours, tokio) = pair(
        OPS,
        || {
            let t = Instant::now();
            for _ in 0..OPS {
                assert!(black_box(&pool).try_acquire());
                black_box(&pool).release();
            }
            t.elapsed()
        },
        || {
            let t = Instant::now();
            for _ in 0..OPS {
                let p = black_box(&sem).try_acquire().expect("free");
                drop(black_box(p));
            }
            t.elapsed()
        },
    );
    rows.push(Row {
        case: "pool: free slot, take + give back (1 thread)",
        ours,
        tokio_name: "`Semaphore::try_acquire` + drop",
        tokio,
    });
}

/// Two threads taking and giving back slots of a pool that never fills
/// (the cache line bounces; nobody waits).
fn pool_two_threads(rows: &mut Vec<Row>) {
    const OPS: u64 = 1_000_000;
    let pool = Arc::new(Pool::new(100));
    let sem = Arc::new(tokio::sync::Semaphore::new(100));

    let (ours, tokio) = pair(
        2 * OPS,
        || {
            let t = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..OPS {
                            assert!(pool.try_acquire());
                            pool.release();
                        }
                    });
                }
            });
            t.elapsed()
        },
        || {
            let t = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..OPS {
                            drop(black_box(sem.try_acquire().expect("free")));
                        }
                    });
                }
            });
            t.elapsed()
        },
    );
    rows.push(Row {
        case: "pool: free slot, 2 threads at once",
        ours,
        tokio_name: "`Semaphore::try_acquire` + drop",
        tokio,
    });
}

/// A full pool: 32 tasks on a 2-thread runtime share 4 slots, each
/// holding one across a yield (requests wait in line).
fn pool_full(rows: &mut Vec<Row>) {
    const TASKS: u64 = 32;
    const EACH: u64 = 5_000;
    let rt = multi_thread();
    let (ours, tokio) = pair(
        TASKS * EACH,
        || {
            rt.block_on(async {
                let pool = Arc::new(Pool::new(4));
                let t = Instant::now();
                let tasks: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let pool = pool.clone();
                        tokio::spawn(async move {
                            for _ in 0..EACH {
                                pool.acquire().await;
                                tokio::task::yield_now().await;
                                pool.release();
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("task");
                }
                t.elapsed()
            })
        },
        || {
            rt.block_on(async {
                let sem = Arc::new(tokio::sync::Semaphore::new(4));
                let t = Instant::now();
                let tasks: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let sem = sem.clone();
                        tokio::spawn(async move {
                            for _ in 0..EACH {
                                let p = sem.acquire().await.expect("open");
                                tokio::task::yield_now().await;
                                drop(p);
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("task");
                }
                t.elapsed()
            })
        },
    );
    rows.push(Row {
        case: "pool: full, 32 tasks wait for 4 slots (2 threads)",
        ours,
        tokio_name: "`Semaphore::acquire`",
        tokio,
    });
}

// ---- signals vs watch / Notify -----------------------------------------

/// Polls `f` `n` times with one waker (what a connection's select does on
/// every wake while nothing changed).
fn poll_n<F: Future>(f: F, n: u64, waker: &Waker) -> Duration {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(waker);
    let t = Instant::now();
    for _ in 0..n {
        assert!(f.as_mut().poll(&mut cx).is_pending());
    }
    t.elapsed()
}

fn counting_waker() -> Waker {
    struct W;
    impl std::task::Wake for W {
        fn wake(self: Arc<Self>) {}
    }
    Waker::from(Arc::new(W))
}

fn signal_poll_unchanged(rows: &mut Vec<Row>) {
    const OPS: u64 = 5_000_000;
    let waker = counting_waker();
    let signals = Signals::default();
    let (_tx, mut rx) = tokio::sync::watch::channel(0u64);

    let (ours, tokio) = pair(
        OPS,
        || {
            let seen = signals.state();
            poll_n(signals.changed(seen), OPS, &waker)
        },
        || poll_n(rx.changed(), OPS, &waker),
    );
    rows.push(Row {
        case: "signal: poll an unchanged wait (every wake of a connection)",
        ours,
        tokio_name: "`watch::Receiver::changed`",
        tokio,
    });
    let notify = tokio::sync::Notify::new();
    let (ours, tokio) = pair(
        OPS,
        || {
            let seen = signals.state();
            poll_n(signals.changed(seen), OPS, &waker)
        },
        || poll_n(notify.notified(), OPS, &waker),
    );
    rows.push(Row {
        case: "signal: poll an unchanged wait (every wake of a connection)",
        ours,
        tokio_name: "`Notify::notified`",
        tokio,
    });
}

/// A new wait, polled once and dropped (each turn of a connection's loop
/// after an event).
fn signal_new_wait(rows: &mut Vec<Row>) {
    const OPS: u64 = 1_000_000;
    let waker = counting_waker();
    let signals = Signals::default();
    let (_tx, mut rx) = tokio::sync::watch::channel(0u64);

    let (ours, tokio) = pair(
        OPS,
        || {
            let t = Instant::now();
            let mut cx = Context::from_waker(&waker);
            for _ in 0..OPS {
                let seen = signals.state();
                let mut f = pin!(signals.changed(seen));
                assert!(f.as_mut().poll(&mut cx).is_pending());
            }
            t.elapsed()
        },
        || {
            let t = Instant::now();
            let mut cx = Context::from_waker(&waker);
            for _ in 0..OPS {
                let mut f = pin!(rx.changed());
                assert!(f.as_mut().poll(&mut cx).is_pending());
            }
            t.elapsed()
        },
    );
    rows.push(Row {
        case: "signal: new wait, polled once, dropped",
        ours,
        tokio_name: "`watch::Receiver::changed`",
        tokio,
    });
}

/// 1000 connections waiting; a drain wakes them all and each sees it.
fn signal_broadcast(rows: &mut Vec<Row>) {
    const CONNS: u64 = 1_000;
    const ROUNDS: u64 = 50;
    let rt = current_thread();
    let (ours, tokio) = pair(
        CONNS * ROUNDS,
        || {
            rt.block_on(async {
                let mut took = Duration::ZERO;
                for _ in 0..ROUNDS {
                    let signals = Arc::new(Signals::default());
                    let tasks: Vec<_> = (0..CONNS)
                        .map(|_| {
                            let s = signals.clone();
                            tokio::spawn(async move { s.drained().await })
                        })
                        .collect();
                    tokio::task::yield_now().await;
                    let t = Instant::now();
                    signals.drain();
                    for task in tasks {
                        task.await.expect("task");
                    }
                    took += t.elapsed();
                }
                took
            })
        },
        || {
            rt.block_on(async {
                let mut took = Duration::ZERO;
                for _ in 0..ROUNDS {
                    let (tx, rx) = tokio::sync::watch::channel(false);
                    let tasks: Vec<_> = (0..CONNS)
                        .map(|_| {
                            let mut rx = rx.clone();
                            tokio::spawn(async move {
                                let _ = rx.wait_for(|d| *d).await;
                            })
                        })
                        .collect();
                    tokio::task::yield_now().await;
                    let t = Instant::now();
                    tx.send_replace(true);
                    for task in tasks {
                        task.await.expect("task");
                    }
                    took += t.elapsed();
                }
                took
            })
        },
    );
    rows.push(Row {
        case: "signal: drain wakes 1000 waiting connections (per connection)",
        ours,
        tokio_name: "`watch` + `wait_for`",
        tokio,
    });
}

// ---- one alarm vs a tokio timer per connection --------------------------

/// The state a connection shares with the client timeouts.
#[derive(Default)]
struct Conn {
    idle_since: AtomicU64,
    expired: rt::sync::atomic::AtomicBool,
}

impl Watched for Conn {
    fn deadline(&self, limit_ns: u64) -> Option<u64> {
        Some(
            self.idle_since
                .load(Ordering::Acquire)
                .saturating_add(limit_ns),
        )
    }

    fn expired_flag(&self) -> &rt::sync::atomic::AtomicBool {
        &self.expired
    }
}

const LIMIT: Duration = Duration::from_secs(900);

/// Request/response round trips over a Unix socket pair between a client
/// thread and one connection task on a current-thread runtime (the worker
/// parks in `epoll_wait` between requests, as under light load). The
/// connection's wait for its next request is timed by `timer`. Returns
/// the CPU time of the runtime's thread (user and kernel): what a worker
/// spends per request, less sensitive than wall time to other load.
fn echo(timer: &'static str, requests: u64) -> Duration {
    let (client, server) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    server.set_nonblocking(true).expect("nonblocking");
    let rt = current_thread();
    let stop = Arc::new(AtomicBool::new(false));
    let served = rt.spawn({
        let stop = stop.clone();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = tokio::net::UnixStream::from_std(server).expect("register");
            let mut buf = [0u8; 64];
            match timer {
                "none" => loop {
                    let n = s.read(&mut buf).await.expect("read");
                    if n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n]).await.expect("write");
                },
                "ours" => {
                    let timeouts = ClientTimeouts::<Conn>::new(LIMIT).expect("alarm");
                    let conn = Arc::new(Conn::default());
                    conn.idle_since
                        .store(rt::clock::coarse_now(), Ordering::Release);
                    let mut reg = timeouts.register(&conn);
                    let sweeper = {
                        let t = timeouts.clone();
                        tokio::spawn(async move { t.run().await })
                    };
                    loop {
                        let n = tokio::select! {
                            biased;
                            r = s.read(&mut buf) => r.expect("read"),
                            _ = rt::timeout::expired(Some(&mut reg)) => panic!("timed out"),
                        };
                        if n == 0 {
                            break;
                        }
                        s.write_all(&buf[..n]).await.expect("write");
                        conn.idle_since
                            .store(rt::clock::coarse_now(), Ordering::Release);
                    }
                    sweeper.abort();
                }
                _ => {
                    let sleep = tokio::time::sleep(LIMIT);
                    let mut sleep = pin!(sleep);
                    loop {
                        let n = tokio::select! {
                            biased;
                            r = s.read(&mut buf) => r.expect("read"),
                            () = &mut sleep => panic!("timed out"),
                        };
                        if n == 0 {
                            break;
                        }
                        s.write_all(&buf[..n]).await.expect("write");
                        sleep.as_mut().reset(tokio::time::Instant::now() + LIMIT);
                    }
                }
            }
            stop.store(true, Ordering::Release);
        }
    });
    let driver = std::thread::spawn(move || {
        let mut client = client;
        let mut buf = [0u8; 64];
        for _ in 0..requests {
            client.write_all(b"GET / HTTP/1.1\r\n\r\n").expect("write");
            let mut got = 0;
            while got < 18 {
                got += client.read(&mut buf[got..]).expect("read");
            }
        }
        drop(client);
    });
    let cpu = thread_cpu();
    rt.block_on(served).expect("server task");
    let cpu = thread_cpu() - cpu;
    driver.join().expect("client thread");
    cpu
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .expect("thread CPU clock");
    Duration::from(t)
}

fn timeout_round_trip(rows: &mut Vec<Row>) {
    const REQUESTS: u64 = 20_000;
    let (ours, tokio) = pair(
        REQUESTS,
        || echo("ours", REQUESTS),
        || echo("tokio", REQUESTS),
    );
    rows.push(Row {
        case: "timeout: request round trip, 1 connection (worker CPU)",
        ours,
        tokio_name: "`time::Sleep` per connection, reset per request",
        tokio,
    });
    let (ours, none) = pair(
        REQUESTS,
        || echo("ours", REQUESTS),
        || echo("none", REQUESTS),
    );
    rows.push(Row {
        case: "timeout: request round trip, 1 connection (worker CPU)",
        ours,
        tokio_name: "no client timeout at all (reference)",
        tokio: none,
    });
}

/// The per-request cost alone: a timer reset against a clock store.
fn timeout_per_request(rows: &mut Vec<Row>) {
    const OPS: u64 = 2_000_000;
    let conn = Conn::default();
    let rt = current_thread();

    let (ours, tokio) = pair(
        OPS,
        || {
            let t = Instant::now();
            for _ in 0..OPS {
                black_box(&conn)
                    .idle_since
                    .store(rt::clock::coarse_now(), Ordering::Release);
            }
            t.elapsed()
        },
        || {
            rt.block_on(async {
                let mut sleep = pin!(tokio::time::sleep(LIMIT));
                let waker = counting_waker();
                let mut cx = Context::from_waker(&waker);
                assert!(sleep.as_mut().poll(&mut cx).is_pending());
                let t = Instant::now();
                for _ in 0..OPS {
                    sleep
                        .as_mut()
                        .reset(tokio::time::Instant::now() + black_box(LIMIT));
                    // Polled again, as the select does after the request.
                    assert!(matches!(sleep.as_mut().poll(&mut cx), Poll::Pending));
                }
                t.elapsed()
            })
        },
    );
    rows.push(Row {
        case: "timeout: per request, restart the wait",
        ours,
        tokio_name: "`Sleep::reset` + poll",
        tokio,
    });
}

// ---- coarse clock vs Instant ---------------------------------------------

fn clock(rows: &mut Vec<Row>) {
    const OPS: u64 = 5_000_000;
    let (ours, tokio) = pair(
        OPS,
        || {
            let t = Instant::now();
            for _ in 0..OPS {
                black_box(rt::clock::coarse_now());
            }
            t.elapsed()
        },
        || {
            let t = Instant::now();
            for _ in 0..OPS {
                black_box(tokio::time::Instant::now());
            }
            t.elapsed()
        },
    );
    rows.push(Row {
        case: "clock: read the time",
        ours,
        tokio_name: "`time::Instant::now`",
        tokio,
    });
}

/// A case: its name and what runs it.
type Case = (&'static str, fn(&mut Vec<Row>));

fn main() {
    // `cargo bench` passes `--bench`; a filter picks cases by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let cases: [Case; 9] = [
        ("pool_uncontended", pool_uncontended),
        ("pool_two_threads", pool_two_threads),
        ("pool_full", pool_full),
        ("signal_poll_unchanged", signal_poll_unchanged),
        ("signal_new_wait", signal_new_wait),
        ("signal_broadcast", signal_broadcast),
        ("timeout_per_request", timeout_per_request),
        ("timeout_round_trip", timeout_round_trip),
        ("clock", clock),
    ];
    let mut rows = Vec::new();
    for (name, case) in cases {
        if filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())) {
            let t = Instant::now();
            case(&mut rows);
            eprintln!("{name}: {:.1} s", t.elapsed().as_secs_f64());
        }
    }
    print(&rows);
}
