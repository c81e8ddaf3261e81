//! Typed getters for every option type, and their errors.

use crate::support;

use std::net::IpAddr;
use std::time::Duration;

use fjord_config::{ConfigOpts, ConfigSource, EnvSource, Error, Kind, Opt, Value};
use indexmap::IndexMap;

#[test]
fn every_type_reads_back_typed() {
    let dir = support::temp_dir("typed");
    let file = dir.join("t.conf");
    std::fs::write(
        &file,
        "[DEFAULT]\n\
         s = text\n\
         i = -4\n\
         f = 0.25\n\
         b = on\n\
         l = a, b ,c\n\
         li = 1,2\n\
         d = k1:v1, k2:v2\n\
         p = 443\n\
         ip = ::1\n\
         u = rabbit://guest:guest@127.0.0.1:5672/\n\
         m = one\n\
         m = two\n\
         c = safe\n\
         t = 1.5\n",
    )
    .unwrap();
    let mut c = ConfigOpts::new("t").env_source(EnvSource::Off);
    c.register(
        "DEFAULT",
        &[
            Opt::str("s"),
            Opt::int("i"),
            Opt::float("f"),
            Opt::bool("b"),
            Opt::list("l"),
            Opt::list("li").item_kind(Kind::Int),
            Opt::dict("d"),
            Opt::port("p"),
            Opt::ip("ip"),
            Opt::uri("u").schemes(&["rabbit"]),
            Opt::multi_str("m"),
            Opt::str("c").choices(&["safe", "fast"]),
            Opt::float("t"),
            Opt::str("unset"),
            Opt::list("empty").default(Vec::<String>::new()),
        ],
    )
    .unwrap();
    c.load(vec![ConfigSource::File(file)]).unwrap();
    assert_eq!(c.get::<String>("DEFAULT", "s").unwrap(), "text");
    assert_eq!(c.get::<i64>("DEFAULT", "i").unwrap(), -4);
    assert_eq!(c.get::<f64>("DEFAULT", "f").unwrap(), 0.25);
    assert!(c.get::<bool>("DEFAULT", "b").unwrap());
    assert_eq!(
        c.get::<Vec<String>>("DEFAULT", "l").unwrap(),
        ["a", "b", "c"]
    );
    assert_eq!(c.get::<Vec<i64>>("DEFAULT", "li").unwrap(), [1, 2]);
    let d: IndexMap<String, String> = c.get("DEFAULT", "d").unwrap();
    assert_eq!(d.get("k2").map(String::as_str), Some("v2"));
    assert_eq!(c.get::<u16>("DEFAULT", "p").unwrap(), 443);
    assert_eq!(
        c.get::<IpAddr>("DEFAULT", "ip").unwrap(),
        "::1".parse::<IpAddr>().unwrap()
    );
    assert!(
        c.get::<String>("DEFAULT", "u")
            .unwrap()
            .starts_with("rabbit://")
    );
    assert_eq!(
        c.get::<Vec<String>>("DEFAULT", "m").unwrap(),
        ["one", "two"]
    );
    assert_eq!(c.get::<String>("DEFAULT", "c").unwrap(), "safe");
    assert_eq!(
        c.get::<Duration>("DEFAULT", "t").unwrap(),
        Duration::from_millis(1500)
    );
    assert_eq!(c.get::<Option<String>>("DEFAULT", "unset").unwrap(), None);
    assert_eq!(
        c.get::<Vec<String>>("DEFAULT", "empty").unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(c.value("DEFAULT", "i").unwrap(), Some(Value::Int(-4)));
}

#[test]
fn getter_errors() {
    let mut c = ConfigOpts::new("t").env_source(EnvSource::Off);
    c.register(
        "DEFAULT",
        &[
            Opt::str("s").default("x"),
            Opt::int("n").default(70000),
            Opt::str("unset"),
        ],
    )
    .unwrap();
    c.load(vec![]).unwrap();
    assert!(matches!(
        c.get::<String>("DEFAULT", "nope"),
        Err(Error::NoSuchOpt { .. })
    ));
    assert!(matches!(
        c.get::<String>("nogroup", "s"),
        Err(Error::NoSuchOpt { .. })
    ));
    assert!(matches!(
        c.get::<bool>("DEFAULT", "s"),
        Err(Error::Type { .. })
    ));
    assert!(matches!(
        c.get::<u16>("DEFAULT", "n"),
        Err(Error::Type { .. })
    ));
    assert!(matches!(
        c.get::<String>("DEFAULT", "unset"),
        Err(Error::Type { .. })
    ));
}

#[test]
fn overrides_win_until_cleared() {
    let mut c = ConfigOpts::new("o").env_source(EnvSource::Map(
        [("OS_DEFAULT__N".to_owned(), "2".to_owned())].into(),
    ));
    c.register("DEFAULT", &[Opt::int("n").min(1).default(1)])
        .unwrap();
    c.load(vec![]).unwrap();
    assert_eq!(c.get::<i64>("DEFAULT", "n").unwrap(), 2);
    c.set_override("DEFAULT", "n", 5).unwrap();
    assert_eq!(c.get::<i64>("DEFAULT", "n").unwrap(), 5);
    assert_eq!(
        c.location("DEFAULT", "n").unwrap(),
        fjord_config::Location::Override
    );
    c.reload().unwrap();
    assert_eq!(c.get::<i64>("DEFAULT", "n").unwrap(), 5);
    assert!(matches!(
        c.set_override("DEFAULT", "n", 0),
        Err(Error::BadValue(_))
    ));
    c.set_override("DEFAULT", "n", "7").unwrap();
    assert_eq!(c.get::<i64>("DEFAULT", "n").unwrap(), 7);
    c.clear_override("DEFAULT", "n").unwrap();
    assert_eq!(c.get::<i64>("DEFAULT", "n").unwrap(), 2);
}
