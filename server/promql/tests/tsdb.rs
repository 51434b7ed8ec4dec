//! The evaluator over Vitrine's store, one tenant at a time (feature `tsdb`).
#![cfg(feature = "tsdb")]

use vitrine_promql::eval::{EvalOptions, TsdbQueryable, Value, eval_instant};
use vitrine_promql::parse;
use vitrine_tsdb::{Db, Labels, Options, STALE_NAN};

#[test]
fn evaluates_over_a_tenant_of_the_store() {
    let dir = std::env::temp_dir().join(format!("vitrine-promql-tsdb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = Db::open(&dir, Options::default()).unwrap();
    let mut app = db.appender();
    for (tenant, job, v) in [(1, "a", 1.0), (1, "b\nc", 2.0), (2, "a", 100.0)] {
        let s = app.series(tenant, &Labels::from_pairs(&[("__name__", "up"), ("job", job)]));
        for i in 0..10 {
            app.add(s, i * 15_000, v);
        }
    }
    let gone = app.series(1, &Labels::from_pairs(&[("__name__", "up"), ("job", "gone")]));
    app.add(gone, 0, 5.0);
    app.add(gone, 15_000, f64::from_bits(STALE_NAN));
    app.commit().unwrap();

    let q = TsdbQueryable {
        db: &db,
        tenant: 1,
        memory: None,
    };
    let sum = |query: &str| match eval_instant(&q, &parse(query).unwrap(), 60_000, &EvalOptions::default()).unwrap() {
        Value::Vector(v) => v.iter().map(|s| s.v).sum::<f64>(),
        other => panic!("{other:?}"),
    };
    // Tenant 2's series are out of reach; the stale series has ended.
    assert_eq!(sum("up"), 3.0);
    assert_eq!(sum("sum(rate(up[1m]))"), 0.0);
    // Regular expressions follow Go: `.` does not match a newline.
    assert_eq!(sum(r#"up{job=~"b.c"}"#), 0.0);
    assert_eq!(sum(r#"up{job=~"b\nc"}"#), 2.0);
    assert_eq!(sum(r#"up{job!~"a|b.*"}"#), 2.0);
    // In a range, the staleness marker is skipped: one sample.
    assert_eq!(sum(r#"count_over_time(up{job="gone"}[1m])"#), 1.0);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
