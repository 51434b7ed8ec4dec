//! The demo agency, its clients and people, for `vitrine serve --demo`.

use crate::tenancy::admin::{self, AdminError, Placement};
use crate::tenancy::model::Role;
use crate::tenancy::targets;
use sqlx::SqlitePool;

pub struct Login {
    pub who: &'static str,
    pub email: &'static str,
    pub password: &'static str,
}

pub const LOGINS: [Login; 3] = [
    Login {
        who: "agency owner",
        email: "owner@agency.example",
        password: "vitrine-demo-owner",
    },
    Login {
        who: "client admin of ACME Shop",
        email: "admin@acme.example",
        password: "vitrine-demo-client",
    },
    Login {
        who: "client admin of Globex",
        email: "admin@globex.example",
        password: "vitrine-demo-globex",
    },
];

/// Seeds the demo into a database that does not have it yet; returns whether it did.
pub async fn seed(db: &SqlitePool) -> Result<bool, AdminError> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM agencies WHERE slug = 'demo'")
        .fetch_optional(db)
        .await?;
    if exists.is_some() {
        return Ok(false);
    }
    admin::create_agency(db, "demo", "Demo Agency").await?;
    let acme = admin::create_client(db, "demo", "acme", "ACME Shop", "de").await?;
    admin::create_project(db, acme, "shop", "Online shop", &["live", "stage"]).await?;
    admin::create_project(db, acme, "api", "Order API", &["live"]).await?;
    let globex = admin::create_client(db, "demo", "globex", "Globex", "en").await?;
    admin::create_project(db, globex, "portal", "Customer portal", &["live", "stage"]).await?;
    let places = [
        Placement {
            agency: "demo",
            client: None,
            role: Role::AgencyOwner,
        },
        Placement {
            agency: "demo",
            client: Some("acme"),
            role: Role::ClientAdmin,
        },
        Placement {
            agency: "demo",
            client: Some("globex"),
            role: Role::ClientAdmin,
        },
    ];
    for (login, place) in LOGINS.iter().zip(places) {
        admin::create_user(db, login.email, login.password, place).await?;
    }
    // Both demo clients have every add-on, recorded by hand (the demo agency bills by bank transfer).
    let agency = sqlx::query_scalar("SELECT id FROM agencies WHERE slug = 'demo'")
        .fetch_one(db)
        .await?;
    let mut tx = db.begin().await?;
    for client in [acme, globex] {
        crate::billing::contracts::record_everything(
            &mut tx,
            agency,
            client,
            "Demo: every add-on, billed by bank transfer.",
        )
        .await?;
    }
    tx.commit().await?;
    seed_thresholds(db).await?;
    Ok(true)
}

/// ACME's shop (live) gets thresholds from the templates that fit the demo shop's metrics,
/// held one minute so a new user sees one go from watching to alarm within minutes, and a
/// recording rule.
async fn seed_thresholds(db: &SqlitePool) -> Result<(), AdminError> {
    let place = targets::place_of(db, "acme", "shop", "live").await?;
    for id in ["error-rate", "slow-pages", "target-down", "no-orders"] {
        let Some(template) = crate::rules::templates::find(id) else {
            continue;
        };
        let new = crate::rules::NewThreshold::from_template(template, &place, "de", 60);
        crate::rules::insert(db, &new).await?;
    }
    // A figure computed at every round: the share of the shop's orders that fail.
    let failed_orders = crate::rules::recording::NewRecordingRule {
        agency_id: place.agency_id,
        client_id: place.client_id,
        project_id: place.project_id,
        environment_id: Some(place.environment_id),
        record: "shop:orders_failed:ratio_rate5m".into(),
        expr: r#"sum(rate(business_transactions_total{type="order",status="failed"}[5m])) / sum(rate(business_transactions_total{type="order"}[5m]))"#.into(),
        labels: Vec::new(),
    };
    crate::rules::recording::insert(db, &failed_orders).await?;
    seed_maintenance(db, &place).await?;
    seed_channel(db, &place).await?;
    seed_dashboards(db).await
}

/// Every demo project starts with "Is my application OK?".
async fn seed_dashboards(db: &SqlitePool) -> Result<(), AdminError> {
    let projects: Vec<(i64, i64)> = sqlx::query_as("SELECT client_id, id FROM projects ORDER BY id")
        .fetch_all(db)
        .await?;
    for (client_id, project_id) in projects {
        crate::dashboards::insert(db, client_id, project_id, &crate::dashboards::default_model()).await?;
    }
    Ok(())
}

/// ACME's team mailbox gets the critical and warning alarms besides ACME's people.
async fn seed_channel(db: &SqlitePool, place: &targets::Place) -> Result<(), AdminError> {
    use crate::notify::channels::{Kind, NewChannel, insert};
    let new = NewChannel {
        kind: Kind::Email,
        name: "Shop team".into(),
        target: "team@acme.example".into(),
        url: None,
        severities: Some(vec!["critical".into(), "warning".into()]),
    };
    insert(db, place.client_id, &new, None).await?;
    Ok(())
}

/// A planned maintenance of ACME's shop: next Sunday from 02:00 to 04:00 UTC.
async fn seed_maintenance(db: &SqlitePool, place: &targets::Place) -> Result<(), AdminError> {
    use crate::rules::silences::{self, NewSilence, SilenceMatcher};
    const DAY_MS: i64 = 86_400_000;
    let now = crate::tenancy::now() * 1000;
    let today = now.div_euclid(DAY_MS);
    // 1970-01-01 was a Thursday: (day + 4) % 7 is 0 on Sundays.
    let days_ahead = match (7 - (today + 4).rem_euclid(7)) % 7 {
        0 => 7,
        days => days,
    };
    let starts_ms = (today + days_ahead) * DAY_MS + 2 * 3_600_000;
    let new = NewSilence {
        matchers: vec![
            SilenceMatcher::equal("project", "shop"),
            SilenceMatcher::equal("environment", "live"),
        ],
        starts_ms,
        ends_ms: starts_ms + 2 * 3_600_000,
        created_by: "owner@agency.example".into(),
        comment: "Update of the shop software to the new version".into(),
    };
    match silences::put(db, place.agency_id, place.client_id, None, new, now).await {
        Ok(_) => Ok(()),
        Err(silences::SilenceError::Database(e)) => Err(crate::tenancy::TenancyError::Database(e).into()),
        // Valid by construction; were it refused, the demo would only lack its maintenance.
        Err(e) => {
            tracing::warn!(error = %e, "the demo's planned maintenance");
            Ok(())
        }
    }
}

/// Live data for the demo client: the demo shop, Vitrine itself and, when
/// `prometheus-node-exporter` is installed, a node exporter started as a
/// child process — each as a target of ACME's shop, live environment. Their
/// addresses change at every start, so the targets are updated each time.
/// Returns the node exporter process, which stops when it is dropped.
pub async fn live_targets(
    pool: &SqlitePool,
    shop: &crate::demo_app::DemoShop,
    vitrine_metrics: &str,
) -> Result<Option<tokio::process::Child>, String> {
    let mut targets = vec![
        ("shop", "demo-shop", shop.metrics_url.clone()),
        ("vitrine", "vitrine", vitrine_metrics.to_string()),
    ];
    let node = start_node_exporter().await;
    if let Some((_, url)) = &node {
        targets.push(("node", "node-exporter", url.clone()));
    }
    let mut target_ids = Vec::new();
    for (job, builtin, url) in targets {
        target_ids.push(upsert_target(pool, job, builtin, &url).await?);
    }
    seed_status_page(pool, &shop.base_url, target_ids[0])
        .await
        .map_err(|e| e.to_string())?;
    Ok(node.map(|(child, _)| child))
}

/// ACME's public status page: probes of the demo shop's home page and checkout (pointed at
/// this start's address), and on the first start components with 90 days of history, so
/// the bars have something to show; published, in Berlin time.
async fn seed_status_page(pool: &SqlitePool, shop: &str, shop_target: i64) -> Result<(), crate::tenancy::TenancyError> {
    use crate::status::components::{self, NewComponent, NewSource, SourceKind};
    use crate::status::probes::{self, NewProbe};
    use crate::status::uptime::Change;
    use app::dto::ComponentState::*;
    let place = targets::place_of(pool, "acme", "shop", "live").await?;
    let probe_place = probes::Place {
        agency_id: place.agency_id,
        client_id: place.client_id,
        project_id: place.project_id,
        environment_id: place.environment_id,
    };
    let mut home = NewProbe::get("Home page", &format!("{shop}/"));
    home.keyword = "Add to cart".into();
    home.max_latency_ms = 2000;
    let mut checkout = NewProbe::get("Checkout", &format!("{shop}/checkout"));
    checkout.json_pointer = "/status".into();
    checkout.json_value = "ok".into();
    checkout.interval_secs = 30;
    let home = probes::upsert_builtin(pool, probe_place, &home, "demo-home").await?;
    let checkout = probes::upsert_builtin(pool, probe_place, &checkout, "demo-checkout").await?;
    let seeded: Option<i64> = sqlx::query_scalar("SELECT 1 FROM status_pages WHERE client_id = ?")
        .bind(place.client_id)
        .fetch_optional(pool)
        .await?;
    if seeded.is_some() {
        return Ok(());
    }
    let thresholds: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, template FROM thresholds WHERE client_id = ? AND template IS NOT NULL")
            .bind(place.client_id)
            .fetch_all(pool)
            .await?;
    let threshold = |template: &str| thresholds.iter().find(|(_, t)| t == template).map(|(id, _)| *id);
    let source = |kind, source_id, impact, failures| NewSource {
        kind,
        source_id,
        impact,
        failures,
    };
    let mut shop_sources = vec![source(SourceKind::Probe, home, MajorOutage, 2)];
    shop_sources.extend(threshold("slow-pages").map(|id| source(SourceKind::Threshold, id, DegradedPerformance, 1)));
    let mut checkout_sources = vec![source(SourceKind::Probe, checkout, MajorOutage, 2)];
    checkout_sources.extend(threshold("error-rate").map(|id| source(SourceKind::Threshold, id, PartialOutage, 1)));
    let now = crate::store::now_ms();
    const DAY: i64 = 86_400_000;
    let made = now - 91 * DAY;
    let list = [
        (
            NewComponent {
                group: "Online shop".into(),
                name: "Shop".into(),
                description: "Browsing products and the cart".into(),
                sources: shop_sources,
            },
            vec![
                (made, Operational),
                (now - 51 * DAY, DegradedPerformance),
                (now - 51 * DAY + 7_200_000, Operational),
            ],
        ),
        (
            NewComponent {
                group: "Online shop".into(),
                name: "Checkout".into(),
                description: "Paying for orders".into(),
                sources: checkout_sources,
            },
            vec![
                (made, Operational),
                (now - 23 * DAY, PartialOutage),
                (now - 23 * DAY + 2_400_000, Operational),
            ],
        ),
        (
            NewComponent {
                group: String::new(),
                name: "Shop data".into(),
                description: "The figures the agency watches".into(),
                sources: vec![source(SourceKind::Target, shop_target, PartialOutage, 1)],
            },
            vec![(made, Operational)],
        ),
    ];
    for (new, history) in list {
        let id = components::insert(pool, place.agency_id, place.client_id, &new, made).await?;
        let history: Vec<Change> = history
            .into_iter()
            .map(|(at_ms, state)| Change { at_ms, state })
            .collect();
        components::write_history(pool, place.client_id, id, &history).await?;
    }
    sqlx::query(
        "INSERT INTO status_pages (client_id, agency_id, published, time_zone, updated_ms) VALUES (?, ?, 1, 'Europe/Berlin', ?)",
    )
    .bind(place.client_id)
    .bind(place.agency_id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

async fn start_node_exporter() -> Option<(tokio::process::Child, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let mut command = tokio::process::Command::new("prometheus-node-exporter");
    command
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    // The exporter ends with Vitrine even when Vitrine is killed and cannot clean up.
    // SAFETY: prctl is async-signal-safe and only changes the child's own settings.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let child = command.spawn().ok()?;
    tracing::info!(port, "started prometheus-node-exporter for the demo");
    Some((child, format!("http://127.0.0.1:{port}/metrics")))
}

async fn upsert_target(pool: &SqlitePool, job: &str, builtin: &str, url: &str) -> Result<i64, String> {
    use vitrine_scrape_config::{ScrapeTarget, ScrapeUrl};
    let parsed = ScrapeUrl::parse(url).map_err(|e| e.to_string())?;
    let target = ScrapeTarget::builder(job, parsed).build().map_err(|e| e.to_string())?;
    let place = targets::place_of(pool, "acme", "shop", "live")
        .await
        .map_err(|e| e.to_string())?;
    targets::upsert_builtin(pool, place, &target, builtin)
        .await
        .map_err(|e| e.to_string())
}
