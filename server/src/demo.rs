//! The demo agency, its clients and people, for `vitrine serve --demo`.

use crate::tenancy::admin::{self, AdminError, Placement};
use crate::tenancy::model::Role;
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
    Ok(true)
}
