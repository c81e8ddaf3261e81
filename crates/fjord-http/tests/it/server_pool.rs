//! H3: `wsgi_default_pool_size` bounds requests in flight per worker;
//! beyond it requests wait (nothing is dropped) and the worker stops
//! accepting. `max_connections` bounds open connections; idle keep-alive
//! connections are closed to make room, so they never starve others.

use crate::support;
use fjord_test_support::wait_for_async;
use support::DEADLINE;

use std::time::Duration;

use fjord_service::Service;
use support::*;

#[tokio::test]
async fn requests_beyond_the_pool_wait_and_all_complete() {
    let gate = Gate::default();
    let (service, addr) = start(options().wsgi_default_pool_size(2), app(gate.clone())).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(tokio::spawn(async move { get(addr, "/gate").await }));
    }
    wait_for_async("pool full", DEADLINE, || gate.inside() == 2).await;
    // Give the other three every chance to (wrongly) enter the app.
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(gate.inside(), 2, "{:?}", service.stats());
        assert!(clients.iter().all(|c| !c.is_finished()));
    }
    gate.release(5);
    for c in clients {
        let r = c.await.expect("client task");
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "gate");
    }
    let s = service.stats();
    assert_eq!(s.requests, 5);
    assert_eq!(s.in_flight, 0);
    service.stop(true).await;
}

#[tokio::test]
async fn saturated_pool_stops_accepting_and_counts_waits() {
    let gate = Gate::default();
    let (service, addr) = start(options().wsgi_default_pool_size(1), app(gate.clone())).await;
    // First request takes the only slot.
    let first = tokio::spawn(async move { get(addr, "/gate").await });
    wait_for_async("first in flight", DEADLINE, || {
        service.stats().in_flight == 1
    })
    .await;
    let accepted_before = service.stats().connections_accepted;
    // The next connection is left in the backlog (not accepted, not
    // dropped) while the pool is full.
    let second = tokio::spawn(async move { get(addr, "/hello").await });
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(service.stats().connections_accepted, accepted_before);
    }
    assert!(!second.is_finished());
    gate.release(1);
    assert_eq!(first.await.expect("first").status, 200);
    assert_eq!(second.await.expect("second").status, 200);
    service.stop(true).await;
}

#[tokio::test]
async fn keep_alive_request_waits_for_a_slot() {
    let gate = Gate::default();
    let (service, addr) = start(options().wsgi_default_pool_size(1), app(gate.clone())).await;
    // An already open keep-alive connection...
    let mut ka = connect(addr).await;
    let r = roundtrip(&mut ka, b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(r.status, 200);
    // ...sends while the slot is busy: it waits instead of failing.
    let busy = tokio::spawn(async move { get(addr, "/gate").await });
    wait_for_async("slot busy", DEADLINE, || service.stats().in_flight == 1).await;
    let waiter =
        tokio::spawn(
            async move { roundtrip(&mut ka, b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await },
        );
    wait_for_async("second request waiting", DEADLINE, || {
        service.stats().pool_waits >= 1
    })
    .await;
    assert!(!waiter.is_finished());
    gate.release(1);
    assert_eq!(busy.await.expect("busy").status, 200);
    assert_eq!(waiter.await.expect("waiter").status, 200);
    service.stop(true).await;
}

#[tokio::test]
async fn idle_keep_alive_connections_make_room_at_the_connection_bound() {
    let (service, addr) = start(options().max_connections(2), simple_app()).await;
    let mut idle = Vec::new();
    for _ in 0..2 {
        let mut s = connect(addr).await;
        let r = roundtrip(&mut s, b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await;
        assert_eq!(r.status, 200);
        idle.push(s);
    }
    // At the bound but nobody waiting: the idle ones stay open.
    tokio::time::sleep(Duration::from_millis(50)).await;
    for s in &mut idle {
        let r = roundtrip(s, b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await;
        assert_eq!(
            r.status, 200,
            "an idle connection was closed with nobody waiting"
        );
    }
    assert_eq!(service.stats().idle_closed, 0);
    // A third client is served: idle ones were closed to make room.
    assert_eq!(get(addr, "/hello").await.status, 200);
    assert!(service.stats().idle_closed >= 1, "{:?}", service.stats());
    for mut s in idle {
        let _ = read_until_closed(&mut s).await;
    }
    service.stop(true).await;
}

/// An app that is not always ready (tower's concurrency limit, shared by
/// every connection's clone of the app): requests beyond its limit wait
/// for it, on the same connection and on others, and all are answered.
#[tokio::test]
async fn an_app_that_is_not_ready_is_waited_for() {
    use tower::Layer as _;
    let gate = Gate::default();
    let limited =
        fjord_http::App::new(tower::limit::ConcurrencyLimitLayer::new(1).layer(app(gate.clone())));
    let (service, addr) = start(options(), limited).await;
    // Two connections: the second finds the app busy and waits for it.
    let first = tokio::spawn(async move { get(addr, "/gate").await });
    wait_for_async("first inside", DEADLINE, || gate.inside() == 1).await;
    let mut ka = connect(addr).await;
    let second = tokio::spawn(async move {
        let r = roundtrip(&mut ka, b"GET /gate HTTP/1.1\r\nHost: t\r\n\r\n").await;
        // The same connection again, after its waiting request.
        let again = roundtrip(&mut ka, b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await;
        (r, again)
    });
    wait_for_async("second request received", DEADLINE, || {
        service.stats().requests == 2
    })
    .await;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(gate.inside(), 1, "the limit let a second request in");
    }
    gate.release(1);
    assert_eq!(first.await.expect("first").status, 200);
    wait_for_async("second inside", DEADLINE, || gate.inside() == 1).await;
    gate.release(1);
    let (r, again) = tokio::time::timeout(DEADLINE, second)
        .await
        .expect("the waiting request was never served")
        .expect("second");
    assert_eq!((r.status, r.text().as_str()), (200, "gate"));
    assert_eq!(again.status, 200);
    // And a third connection is served once the app is free again.
    assert_eq!(get(addr, "/hello").await.status, 200);
    service.stop(true).await;
}
