//! The agency's catalogue: a base plan and add-ons, each with its name and added-value text in
//! English, German and French, its monthly price, setup fee, Stripe prices and what it grants.
//! A new agency starts from [`DEFAULT`]; agency owners and admins edit it.

use crate::rules::templates::language_index;
use crate::tenancy::model::Slug;
use crate::tenancy::{FormCheck, now};
use app::dto::FieldProblem;
use sqlx::{SqliteConnection, SqlitePool};

/// A feature an add-on switches on. Checked only through `entitlements`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Error mails to the client's own people (the agency's channels are told regardless).
    ClientMails,
    /// A public status page.
    StatusPage,
    /// Alerts to Slack, a webhook or PagerDuty.
    ChatAlerts,
}

/// A number an item raises: the projects a client may have, its status page's subscribers,
/// the days its data are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Added up over the contract's items.
    Projects,
    /// Added up over the contract's items.
    Subscribers,
    /// The largest of the contract's items.
    RetentionDays,
}

/// What a catalogue item grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    Feature(Feature),
    Limit(Limit),
    /// A promise of the agency's (an SLA, response times): in the offer, gating nothing.
    Service,
}

impl Grant {
    pub const ALL: [Grant; 7] = [
        Grant::Feature(Feature::ClientMails),
        Grant::Feature(Feature::StatusPage),
        Grant::Feature(Feature::ChatAlerts),
        Grant::Limit(Limit::Projects),
        Grant::Limit(Limit::Subscribers),
        Grant::Limit(Limit::RetentionDays),
        Grant::Service,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Grant::Feature(Feature::ClientMails) => "client_mails",
            Grant::Feature(Feature::StatusPage) => "status_page",
            Grant::Feature(Feature::ChatAlerts) => "chat_alerts",
            Grant::Limit(Limit::Projects) => "projects",
            Grant::Limit(Limit::Subscribers) => "subscribers",
            Grant::Limit(Limit::RetentionDays) => "retention_days",
            Grant::Service => "service",
        }
    }

    pub fn parse(key: &str) -> Option<Grant> {
        Grant::ALL.into_iter().find(|grant| grant.key() == key)
    }

    pub fn is_limit(self) -> bool {
        matches!(self, Grant::Limit(_))
    }
}

/// An item as the catalogue holds it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Item {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub grants: String,
    pub amount: i64,
    pub name_en: String,
    pub name_de: String,
    pub name_fr: String,
    pub value_en: String,
    pub value_de: String,
    pub value_fr: String,
    pub monthly_cents: i64,
    pub setup_cents: i64,
    pub currency: String,
    pub stripe_price_id: String,
    pub stripe_setup_price_id: String,
    pub archived: bool,
}

const COLUMNS: &str = "id, key, kind, grants, amount, name_en, name_de, name_fr, value_en, value_de, value_fr,
    monthly_cents, setup_cents, currency, stripe_price_id, stripe_setup_price_id, archived";

impl Item {
    /// The name in `language`, English where that one is empty.
    pub fn name(&self, language: &str) -> &str {
        pick([&self.name_en, &self.name_de, &self.name_fr], language)
    }

    /// The added value in `language`, English where that one is empty.
    pub fn value(&self, language: &str) -> &str {
        pick([&self.value_en, &self.value_de, &self.value_fr], language)
    }

    pub fn to_dto(&self, language: &str) -> app::dto::CatalogueItem {
        app::dto::CatalogueItem {
            id: self.id,
            key: self.key.clone(),
            base: self.kind == "base",
            grants: self.grants.clone(),
            amount: self.amount,
            name: self.name(language).to_string(),
            value: self.value(language).to_string(),
            names: [self.name_en.clone(), self.name_de.clone(), self.name_fr.clone()],
            values: [self.value_en.clone(), self.value_de.clone(), self.value_fr.clone()],
            monthly_cents: self.monthly_cents,
            setup_cents: self.setup_cents,
            currency: self.currency.clone(),
            stripe_price_id: self.stripe_price_id.clone(),
            stripe_setup_price_id: self.stripe_setup_price_id.clone(),
            archived: self.archived,
        }
    }
}

fn pick<'a>(texts: [&'a String; 3], language: &str) -> &'a str {
    let text = texts[language_index(language)];
    if text.is_empty() { texts[0] } else { text }
}

/// The agency's items, base plan first, then by position; an agency without any (a new one)
/// gets the default catalogue first.
pub async fn list(db: &SqlitePool, agency_id: i64) -> Result<Vec<Item>, sqlx::Error> {
    let mut tx = db.begin().await?;
    ensure_default(&mut tx, agency_id).await?;
    let items = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM catalogue_items WHERE agency_id = ? ORDER BY kind = 'addon', position, id"
    ))
    .bind(agency_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(items)
}

/// The items of a client's contract, base plan first.
pub async fn of_contract(db: impl sqlx::SqliteExecutor<'_>, client_id: i64) -> Result<Vec<Item>, sqlx::Error> {
    let columns = COLUMNS.replace("id, key", "i.id, i.key");
    sqlx::query_as(&format!(
        "SELECT {columns} FROM catalogue_items i JOIN contract_items ci ON ci.item_id = i.id
         WHERE ci.client_id = ? ORDER BY i.kind = 'addon', i.position, i.id"
    ))
    .bind(client_id)
    .fetch_all(db)
    .await
}

/// What a screen shows where the client lacks `grant`: the add-on of the agency's catalogue
/// that grants it, in `language`, and the client's contract page where it is asked for.
pub async fn needed(
    db: &SqlitePool,
    agency_id: i64,
    client_slug: &str,
    grant: Grant,
    language: &str,
) -> Result<app::dto::AddOnNeeded, sqlx::Error> {
    let offered = list(db, agency_id).await?;
    let item = offered.iter().find(|item| !item.archived && item.grants == grant.key());
    Ok(app::dto::AddOnNeeded {
        name: item.map(|item| item.name(language).to_string()),
        value: item.map(|item| item.value(language).to_string()).unwrap_or_default(),
        contract_link: format!("/clients/{client_slug}/contract"),
    })
}

/// A starting item: name and added value in English, German, French.
pub struct Default {
    pub key: &'static str,
    pub base: bool,
    pub grant: Grant,
    pub amount: i64,
    pub name: [&'static str; 3],
    pub value: [&'static str; 3],
    pub monthly_cents: i64,
    pub setup_cents: i64,
}

/// What a new agency's catalogue holds; prices in euro cents, the agency changes them.
pub static DEFAULT: [Default; 7] = [
    Default {
        key: "base",
        base: true,
        grant: Grant::Limit(Limit::Projects),
        amount: 2,
        name: ["Monitoring", "Monitoring", "Surveillance"],
        value: [
            "We watch your application around the clock: its pages, errors and speed, on a dashboard you can open at any time, with every chart and alarm line explained. Two projects, data kept 90 days.",
            "Wir überwachen Ihre Anwendung rund um die Uhr: Seiten, Fehler und Geschwindigkeit, auf einem Dashboard, das Sie jederzeit öffnen können, jedes Diagramm und jede Alarmgrenze erklärt. Zwei Projekte, Daten 90 Tage aufbewahrt.",
            "Nous surveillons votre application jour et nuit : ses pages, ses erreurs et sa vitesse, sur un tableau de bord que vous ouvrez quand vous voulez, chaque graphique et chaque seuil expliqué. Deux projets, données gardées 90 jours.",
        ],
        monthly_cents: 4900,
        setup_cents: 19900,
    },
    Default {
        key: "error-mails",
        base: false,
        grant: Grant::Feature(Feature::ClientMails),
        amount: 0,
        name: [
            "Error mails to your team",
            "Fehler-Mails an Ihr Team",
            "E-mails d'erreur à votre équipe",
        ],
        value: [
            "Your people get a mail the moment something goes wrong and when it is fixed, in plain words with what it means for your business. Nobody has to phone to find out.",
            "Ihre Leute bekommen eine Mail, sobald etwas schiefläuft und sobald es behoben ist, in klaren Worten und mit dem, was es für Ihr Geschäft bedeutet. Niemand muss anrufen, um es zu erfahren.",
            "Votre équipe reçoit un e-mail dès qu'un problème survient et quand il est réglé, en mots simples, avec ce que cela signifie pour votre activité. Plus besoin d'appeler pour savoir.",
        ],
        monthly_cents: 1900,
        setup_cents: 0,
    },
    Default {
        key: "status-page",
        base: false,
        grant: Grant::Feature(Feature::StatusPage),
        amount: 0,
        name: [
            "Public status page",
            "Öffentliche Statusseite",
            "Page de statut publique",
        ],
        value: [
            "Your customers see at a glance whether your shop works, with 90 days of history and our updates during an incident: fewer support calls when something is down.",
            "Ihre Kunden sehen auf einen Blick, ob Ihr Shop funktioniert, mit 90 Tagen Verlauf und unseren Meldungen während einer Störung: weniger Anrufe beim Support, wenn etwas ausfällt.",
            "Vos clients voient d'un coup d'œil si votre boutique fonctionne, avec 90 jours d'historique et nos nouvelles pendant un incident : moins d'appels au support en cas de panne.",
        ],
        monthly_cents: 1500,
        setup_cents: 0,
    },
    Default {
        key: "subscribers",
        base: false,
        grant: Grant::Limit(Limit::Subscribers),
        amount: 1000,
        name: [
            "Status mails for your customers",
            "Status-Mails für Ihre Kunden",
            "E-mails de statut pour vos clients",
        ],
        value: [
            "Up to 1,000 of your customers follow your status page by e-mail and hear from us first when there is a problem and when it is solved.",
            "Bis zu 1.000 Ihrer Kunden folgen Ihrer Statusseite per E-Mail und erfahren zuerst von uns, wenn es ein Problem gibt und wenn es gelöst ist.",
            "Jusqu'à 1 000 de vos clients suivent votre page de statut par e-mail et apprennent de nous d'abord qu'il y a un problème et qu'il est résolu.",
        ],
        monthly_cents: 900,
        setup_cents: 0,
    },
    Default {
        key: "retention-year",
        base: false,
        grant: Grant::Limit(Limit::RetentionDays),
        amount: 365,
        name: ["One year of history", "Ein Jahr Verlauf", "Un an d'historique"],
        value: [
            "Your data is kept for a year instead of 90 days: compare this Christmas season with the last one.",
            "Ihre Daten werden ein Jahr statt 90 Tage aufbewahrt: vergleichen Sie dieses Weihnachtsgeschäft mit dem letzten.",
            "Vos données sont gardées un an au lieu de 90 jours : comparez cette saison de Noël à la précédente.",
        ],
        monthly_cents: 2900,
        setup_cents: 0,
    },
    Default {
        key: "chat-alerts",
        base: false,
        grant: Grant::Feature(Feature::ChatAlerts),
        amount: 0,
        name: [
            "Alerts in Slack and PagerDuty",
            "Alarme in Slack und PagerDuty",
            "Alertes dans Slack et PagerDuty",
        ],
        value: [
            "Alarms also go where your team already talks: a Slack channel, PagerDuty or your own system through a webhook.",
            "Alarme gehen auch dorthin, wo Ihr Team ohnehin spricht: in einen Slack-Kanal, zu PagerDuty oder per Webhook in Ihr eigenes System.",
            "Les alertes arrivent aussi là où votre équipe discute déjà : un canal Slack, PagerDuty ou votre propre système par webhook.",
        ],
        monthly_cents: 1200,
        setup_cents: 0,
    },
    Default {
        key: "sla",
        base: false,
        grant: Grant::Service,
        amount: 0,
        name: [
            "Guaranteed response times",
            "Garantierte Reaktionszeiten",
            "Temps de réaction garantis",
        ],
        value: [
            "When a critical alarm goes off, we start working on it within 30 minutes, around the clock, and tell you what we do.",
            "Wenn ein kritischer Alarm ausgelöst wird, arbeiten wir innerhalb von 30 Minuten daran, rund um die Uhr, und sagen Ihnen, was wir tun.",
            "Quand une alerte critique se déclenche, nous nous y mettons en moins de 30 minutes, jour et nuit, et nous vous disons ce que nous faisons.",
        ],
        monthly_cents: 9900,
        setup_cents: 0,
    },
];

/// Gives an agency without a catalogue the default one.
pub async fn ensure_default(tx: &mut SqliteConnection, agency_id: i64) -> Result<(), sqlx::Error> {
    let any: Option<i64> = sqlx::query_scalar("SELECT id FROM catalogue_items WHERE agency_id = ? LIMIT 1")
        .bind(agency_id)
        .fetch_optional(&mut *tx)
        .await?;
    if any.is_some() {
        return Ok(());
    }
    for (position, item) in DEFAULT.iter().enumerate() {
        sqlx::query(
            "INSERT INTO catalogue_items (agency_id, key, kind, grants, amount, name_en, name_de, name_fr,
                value_en, value_de, value_fr, monthly_cents, setup_cents, position, updated_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(agency_id)
        .bind(item.key)
        .bind(if item.base { "base" } else { "addon" })
        .bind(item.grant.key())
        .bind(item.amount)
        .bind(item.name[0])
        .bind(item.name[1])
        .bind(item.name[2])
        .bind(item.value[0])
        .bind(item.value[1])
        .bind(item.value[2])
        .bind(item.monthly_cents)
        .bind(item.setup_cents)
        .bind(position as i64)
        .bind(now() * 1000)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Gives every agency its catalogue and every client that existed before billing a recorded
/// contract with every item, once (`billing_backfill`), so nothing that worked switches off.
pub async fn backfill(db: &SqlitePool) -> Result<usize, sqlx::Error> {
    let mut tx = db.begin().await?;
    let agencies: Vec<i64> = sqlx::query_scalar("SELECT id FROM agencies")
        .fetch_all(&mut *tx)
        .await?;
    for agency in agencies {
        ensure_default(&mut tx, agency).await?;
    }
    let clients: Vec<(i64, i64)> =
        sqlx::query_as("SELECT c.id, c.agency_id FROM billing_backfill b JOIN clients c ON c.id = b.client_id")
            .fetch_all(&mut *tx)
            .await?;
    for &(client, agency) in &clients {
        super::contracts::record_everything(
            &mut tx,
            agency,
            client,
            "Recorded when billing arrived: every item, as before.",
        )
        .await?;
    }
    sqlx::query("DELETE FROM billing_backfill").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(clients.len())
}

/// An item's fields from the catalogue form; a problem names its field.
pub struct Form {
    pub key: String,
    pub base: bool,
    pub grant: Grant,
    pub amount: i64,
    pub names: [String; 3],
    pub values: [String; 3],
    pub monthly_cents: i64,
    pub setup_cents: i64,
    pub currency: String,
    pub stripe_price_id: String,
    pub stripe_setup_price_id: String,
}

/// "49", "49.00", "49,90" → cents; at most two decimals, never negative.
pub fn parse_price(text: &str) -> Option<i64> {
    let text = text.trim().replace(',', ".");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() || fraction.len() > 2 || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole
        .checked_mul(100)?
        .checked_add(fraction)
        .filter(|cents| *cents <= 100_000_000)
}

impl Form {
    pub fn parse(form: &[(String, String)]) -> crate::tenancy::Result<Form> {
        let mut check = FormCheck::new(form);
        let key = check.field("key", |raw| Slug::parse(raw).map(|slug| slug.as_str().to_string()));
        let grant = check.field("grants", |raw| Grant::parse(raw).ok_or(FieldProblem::InvalidChoice));
        let amount = check.field("amount", |raw| match raw.trim() {
            "" => Ok(0),
            text => text
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=1_000_000).contains(n))
                .ok_or(FieldProblem::InvalidNumber),
        });
        if grant.is_some_and(Grant::is_limit) && amount == Some(0) {
            check.problem("amount", FieldProblem::Required);
        }
        let text = |limit: usize, required: bool| {
            move |raw: &str| {
                let raw = raw.trim();
                if required && raw.is_empty() {
                    Err(FieldProblem::Required)
                } else if raw.chars().count() > limit {
                    Err(FieldProblem::TooLong)
                } else {
                    Ok(raw.to_string())
                }
            }
        };
        let names = ["name_en", "name_de", "name_fr"].map(|field| check.field(field, text(120, field == "name_en")));
        let values = ["value_en", "value_de", "value_fr"].map(|field| check.field(field, text(2000, false)));
        let price = |raw: &str| match raw.trim() {
            "" => Ok(0),
            text => parse_price(text).ok_or(FieldProblem::InvalidPrice),
        };
        let monthly_cents = check.field("monthly", price);
        let setup_cents = check.field("setup", price);
        let currency = check.field("currency", |raw| {
            let currency = raw.trim().to_ascii_lowercase();
            match currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_lowercase()) {
                true => Ok(currency),
                false => Err(FieldProblem::InvalidCurrency),
            }
        });
        let stripe_id = |raw: &str| {
            let id = raw.trim();
            let fine = id.is_empty()
                || (id.starts_with("price_")
                    && id.len() <= 255
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
            fine.then(|| id.to_string()).ok_or(FieldProblem::InvalidStripeId)
        };
        let stripe_price_id = check.field("stripe_price_id", stripe_id);
        let stripe_setup_price_id = check.field("stripe_setup_price_id", stripe_id);
        let base = form.iter().any(|(name, value)| name == "kind" && value == "base");
        check.finish(|| {
            let [name_en, name_de, name_fr] = names;
            let [value_en, value_de, value_fr] = values;
            Some(Form {
                key: key?,
                base,
                grant: grant?,
                amount: amount?,
                names: [name_en?, name_de?, name_fr?],
                values: [value_en?, value_de?, value_fr?],
                monthly_cents: monthly_cents?,
                setup_cents: setup_cents?,
                currency: currency?,
                stripe_price_id: stripe_price_id?,
                stripe_setup_price_id: stripe_setup_price_id?,
            })
        })
    }
}

/// Adds an item (`id` None) or changes one of the agency's; returns its id.
pub async fn save(db: &SqlitePool, agency_id: i64, id: Option<i64>, form: &Form) -> Result<Option<i64>, sqlx::Error> {
    let kind = if form.base { "base" } else { "addon" };
    let query = match id {
        None => sqlx::query_scalar(
            "INSERT INTO catalogue_items (agency_id, key, kind, grants, amount, name_en, name_de, name_fr,
                value_en, value_de, value_fr, monthly_cents, setup_cents, currency, stripe_price_id,
                stripe_setup_price_id, position, updated_ms, id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                (SELECT COALESCE(MAX(position), 0) + 1 FROM catalogue_items WHERE agency_id = ?1), ?17, ?18)
             RETURNING id",
        ),
        Some(_) => sqlx::query_scalar(
            "UPDATE catalogue_items SET key = ?2, kind = ?3, grants = ?4, amount = ?5, name_en = ?6, name_de = ?7,
                name_fr = ?8, value_en = ?9, value_de = ?10, value_fr = ?11, monthly_cents = ?12, setup_cents = ?13,
                currency = ?14, stripe_price_id = ?15, stripe_setup_price_id = ?16, updated_ms = ?17
             WHERE agency_id = ?1 AND id = ?18 RETURNING id",
        ),
    };
    query
        .bind(agency_id)
        .bind(&form.key)
        .bind(kind)
        .bind(form.grant.key())
        .bind(form.amount)
        .bind(&form.names[0])
        .bind(&form.names[1])
        .bind(&form.names[2])
        .bind(&form.values[0])
        .bind(&form.values[1])
        .bind(&form.values[2])
        .bind(form.monthly_cents)
        .bind(form.setup_cents)
        .bind(&form.currency)
        .bind(&form.stripe_price_id)
        .bind(&form.stripe_setup_price_id)
        .bind(now() * 1000)
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Takes an item off the catalogue (or back on); contracts that have it keep it.
pub async fn set_archived(db: &SqlitePool, agency_id: i64, id: i64, archived: bool) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE catalogue_items SET archived = ?, updated_ms = ? WHERE agency_id = ? AND id = ?")
        .bind(archived)
        .bind(now() * 1000)
        .bind(agency_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_read_as_people_write_them() {
        assert_eq!(parse_price("49"), Some(4900));
        assert_eq!(parse_price("49.9"), Some(4990));
        assert_eq!(parse_price("49,90"), Some(4990));
        assert_eq!(parse_price("0.05"), Some(5));
        for bad in ["", "-1", "1.234", "1e3", "abc", ".5", "99999999999999999999"] {
            assert_eq!(parse_price(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_grant_reads_back_from_its_key() {
        for grant in Grant::ALL {
            assert_eq!(Grant::parse(grant.key()), Some(grant));
        }
        assert_eq!(Grant::parse("everything"), None);
    }

    #[test]
    fn the_default_catalogue_has_one_base_plan_and_every_text_in_three_languages() {
        assert_eq!(DEFAULT.iter().filter(|item| item.base).count(), 1);
        for item in &DEFAULT {
            assert!(
                item.name.iter().chain(&item.value).all(|text| !text.is_empty()),
                "{}",
                item.key
            );
            assert_eq!(item.grant.is_limit(), item.amount > 0, "{}", item.key);
        }
    }
}
