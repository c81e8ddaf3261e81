//! Objects per second: a nova-Instance-sized object (31 fields, a nested
//! Flavor, a KeyPairList of 3 KeyPairs, metadata dicts) serialized
//! (`obj_to_json`, and `obj_to_primitive` + `serde_json::to_string`) and
//! deserialized (`obj_from_json`, and `serde_json::from_str` +
//! `obj_from_primitive`), and received as an RPC argument (parsed, checked
//! by `ObjectSerializer::deserialize_entity`, read by the endpoint).
//!
//! ```text
//! cargo bench -p fjord-objects --bench objects_bench            # a table
//! cargo bench -p fjord-objects --bench objects_bench -- --json  # for bench/objects_bench.py
//! ```
//!
//! Each case runs a bounded number of operations (at most `BENCH_SECS`
//! seconds, default 2) five times and reports the median rate.
//! `BENCH_ONLY=<text>` runs only the cases whose name holds it;
//! `BENCH_OPS=<n>` runs each case n times and prints nothing, to measure
//! CPU time per operation from outside (`perf stat -e task-clock`).
//! bench/objects_bench.py runs it next to Python oslo.versionedobjects.

#![allow(missing_docs, unreachable_pub, dead_code, unused_imports)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use fjord_messaging::Serializer as _;
use fjord_objects::{DateTime, Object, VersionedObject};
use indexmap::IndexMap;

#[path = "../tests/it/defs.rs"]
mod defs;

use defs::new::{Flavor, Instance, KeyPair, KeyPairList};

/// The object measured (the same values as bench/objects_bench.py's).
pub fn instance() -> Instance {
    let dt = DateTime::utc(2024, 2, 29, 13, 45, 30);
    let mut f = Flavor::default();
    f.set_id(1).unwrap();
    f.set_name("m1.tiny".to_string()).unwrap();
    f.set_memory_mb(512).unwrap();
    f.set_vcpus(1).unwrap();
    f.set_root_gb(1).unwrap();
    f.set_ephemeral_gb(0).unwrap();
    f.set_flavorid("1".to_string()).unwrap();
    f.set_swap(0).unwrap();
    f.set_rxtx_factor(1.0).unwrap();
    f.obj_set("vcpu_weight", fjord_objects::FieldValue::None)
        .unwrap();
    f.set_disabled(false).unwrap();
    f.set_is_public(true).unwrap();
    f.set_extra_specs(IndexMap::from([(
        "hw:cpu_policy".to_string(),
        "dedicated".to_string(),
    )]))
    .unwrap();
    f.set_projects(vec!["p1".into(), "p2".into()]).unwrap();
    f.set_description("tiny flavor".to_string()).unwrap();
    f.set_created_at(dt).unwrap();
    f.set_deleted(false).unwrap();
    let mut kps = Vec::new();
    for i in 0..3 {
        let mut k = KeyPair::default();
        k.set_id(i).unwrap();
        k.set_name(format!("key-{i}")).unwrap();
        k.set_user_id("user-123".to_string()).unwrap();
        k.set_fingerprint("aa:bb:cc:dd".to_string()).unwrap();
        k.set_public_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq5 user@host".to_string())
            .unwrap();
        k.set_type("ssh".to_string()).unwrap();
        k.set_created_at(dt).unwrap();
        k.set_deleted(false).unwrap();
        kps.push(k);
    }
    let mut kl = KeyPairList::default();
    kl.set_objects(kps).unwrap();
    let mut i = Instance::default();
    i.set_id(101).unwrap();
    i.set_uuid("b2d6a1e4-3f57-4c7e-9d1a-0c8e5f6a7b91".to_string())
        .unwrap();
    i.set_user_id("user-123".to_string()).unwrap();
    i.set_project_id("proj-456".to_string()).unwrap();
    i.set_hostname("vm-1".to_string()).unwrap();
    i.set_display_name("café ☃ 実例".to_string()).unwrap();
    i.set_vm_state("active".to_string()).unwrap();
    i.set_power_state(1).unwrap();
    i.set_memory_mb(512).unwrap();
    i.set_vcpus(1).unwrap();
    i.set_host("compute-1".to_string()).unwrap();
    i.set_node("node-1".to_string()).unwrap();
    i.set_launched_at(dt).unwrap();
    i.set_access_ip_v4("192.0.2.10".parse::<std::net::IpAddr>().unwrap())
        .unwrap();
    i.set_access_ip_v6("2001:db8::10".parse::<std::net::IpAddr>().unwrap())
        .unwrap();
    i.set_locked(false).unwrap();
    let mut md = IndexMap::new();
    for n in 0..5 {
        md.insert(format!("key{n}"), format!("value {n}"));
    }
    i.set_metadata(md).unwrap();
    let mut smd = IndexMap::new();
    for n in 0..10 {
        smd.insert(format!("image_prop_{n}"), Some(format!("{n}")));
    }
    smd.insert("image_kernel_id".to_string(), None);
    i.set_system_metadata(smd).unwrap();
    i.set_flavor(f).unwrap();
    i.obj_set("old_flavor", fjord_objects::FieldValue::None)
        .unwrap();
    i.obj_set("new_flavor", fjord_objects::FieldValue::None)
        .unwrap();
    i.set_keypairs(kl).unwrap();
    i.set_hidden(false).unwrap();
    i.set_compute_id(42).unwrap();
    i.set_created_at(dt).unwrap();
    i.set_updated_at(dt).unwrap();
    i.set_deleted(false).unwrap();
    i.obj_reset_changes(None, true);
    i
}

fn budget() -> Duration {
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    Duration::from_secs_f64(secs)
}

/// Runs `f` up to `max_ops` times or for the time budget; 5 runs, the
/// median rate in operations per second.
fn rate(max_ops: u64, mut f: impl FnMut()) -> f64 {
    let mut rates = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let mut n = 0u64;
        while n < max_ops {
            for _ in 0..100 {
                f();
            }
            n += 100;
            if start.elapsed() > budget() {
                break;
            }
        }
        rates.push(n as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    rates[2]
}

/// One measured operation.
type Case<'a> = Box<dyn FnMut() + 'a>;

fn main() {
    let json = std::env::args().any(|a| a == "--json");
    let obj = instance();
    let text = obj.obj_to_json();
    let prim = obj.obj_to_primitive();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        prim
    );
    // An RPC call's arguments as the server parses them, through the
    // serializer hook, then the endpoint's typed object.
    let rpc_text = serde_json::json!({"instance": prim}).to_string();
    let ser = fjord_objects::ObjectSerializer::new(defs::new_registry().0);
    let ctx = fjord_messaging::Context::new();
    let mut cases: Vec<(&str, Case<'_>)> = vec![
        (
            "serialize: obj_to_json (text, Python key order)",
            Box::new(|| {
                black_box(black_box(&obj).obj_to_json());
            }),
        ),
        (
            "serialize: obj_to_primitive + serde_json::to_string",
            Box::new(|| {
                black_box(serde_json::to_string(&black_box(&obj).obj_to_primitive()).unwrap());
            }),
        ),
        (
            "deserialize: serde_json::from_str + obj_from_primitive",
            Box::new(|| {
                let v: serde_json::Value = serde_json::from_str(black_box(&text)).unwrap();
                black_box(Instance::obj_from_primitive(&v).unwrap());
            }),
        ),
        (
            "rpc argument: serde_json::from_str + ObjectSerializer::deserialize_entity + obj_from_primitive",
            Box::new(|| {
                let v: serde_json::Value = serde_json::from_str(black_box(&rpc_text)).unwrap();
                let mut args = match ser.deserialize_entity(&ctx, v).unwrap() {
                    serde_json::Value::Object(m) => m,
                    _ => unreachable!(),
                };
                let arg = args.remove("instance").unwrap();
                black_box(Instance::obj_from_primitive(&arg).unwrap());
            }),
        ),
        (
            "deserialize: obj_from_json (text straight to the typed object)",
            Box::new(|| {
                black_box(Instance::obj_from_json(black_box(&text)).unwrap());
            }),
        ),
        (
            "round trip: serialize + deserialize",
            Box::new(|| {
                let t = black_box(&obj).obj_to_json();
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                black_box(Instance::obj_from_primitive(&v).unwrap());
            }),
        ),
    ];
    // BENCH_ONLY=<text>: only the cases whose name holds it.
    // BENCH_OPS=<n>: run each case n times and report nothing (to measure
    // CPU time or instructions per operation from outside, e.g. with
    // `perf stat`).
    let only = std::env::var("BENCH_ONLY").ok();
    let ops: Option<u64> = std::env::var("BENCH_OPS").ok().and_then(|s| s.parse().ok());
    cases.retain(|(name, _)| only.as_deref().is_none_or(|o| name.contains(o)));
    if let Some(n) = ops {
        for (_, f) in &mut cases {
            for _ in 0..n {
                f();
            }
        }
        return;
    }
    let cases: Vec<(&str, f64)> = cases
        .into_iter()
        .map(|(name, mut f)| (name, rate(2_000_000, &mut f)))
        .collect();
    if json {
        let m: serde_json::Map<String, serde_json::Value> = cases
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
            .collect();
        println!("{}", serde_json::Value::Object(m));
        eprintln!("primitive: {} bytes", text.len());
    } else {
        println!("| case | objects/s |\n|---|---|");
        for (k, v) in cases {
            println!("| {k} | {v:.0} |");
        }
        println!("\nprimitive: {} bytes", text.len());
    }
}
