//! The thresholds agency people start from: each with its expression, line, duration, unit and
//! its explanation written for the client (English, German, French), all editable after.

use super::Explanation;

pub struct Template {
    pub id: &'static str,
    /// The name in English, German, French.
    pub name: [&'static str; 3],
    pub expr: &'static str,
    pub comparator: &'static str,
    pub value: f64,
    pub warning: Option<f64>,
    pub for_secs: u32,
    pub severity: &'static str,
    pub unit: &'static str,
    /// English, German, French.
    pub explanation: [Text; 3],
}

/// An explanation as a template holds it.
pub struct Text {
    pub meaning: &'static str,
    pub action: &'static str,
    pub audience: &'static str,
}

impl Text {
    pub fn to_explanation(&self) -> Explanation {
        Explanation {
            meaning: self.meaning.to_string(),
            action: self.action.to_string(),
            audience: self.audience.to_string(),
        }
    }
}

/// Where a language's text is in a template's arrays (English for anything unknown).
pub fn language_index(tag: &str) -> usize {
    match tag {
        "de" => 1,
        "fr" => 2,
        _ => 0,
    }
}

pub fn find(id: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.id == id)
}

pub static TEMPLATES: [Template; 8] = [
    Template {
        id: "error-rate",
        name: [
            "Error rate above 3 %",
            "Fehlerquote über 3 %",
            "Taux d'erreurs supérieur à 3 %",
        ],
        expr: r#"sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))"#,
        comparator: ">",
        value: 0.03,
        warning: Some(0.01),
        for_secs: 300,
        severity: "critical",
        unit: "percentunit",
        explanation: [
            Text {
                meaning: "Out of every 100 visits to your application, more than 3 end with an error page. Visitors cannot finish what they came for, for example an order.",
                action: "We look at the error messages of the application within 30 minutes during business hours, fix the cause or roll back the last change, and tell you what happened.",
                audience: "The agency's on-call developer by e-mail at once; your contact person by e-mail.",
            },
            Text {
                meaning: "Von 100 Aufrufen Ihrer Anwendung enden mehr als 3 mit einer Fehlerseite. Besucher können nicht abschließen, weswegen sie gekommen sind, zum Beispiel eine Bestellung.",
                action: "Wir sehen uns während der Geschäftszeiten innerhalb von 30 Minuten die Fehlermeldungen der Anwendung an, beheben die Ursache oder nehmen die letzte Änderung zurück und berichten Ihnen, was passiert ist.",
                audience: "Die diensthabende Entwicklerin der Agentur sofort per E-Mail; Ihre Ansprechperson per E-Mail.",
            },
            Text {
                meaning: "Sur 100 visites de votre application, plus de 3 se terminent par une page d'erreur. Les visiteurs ne peuvent pas aller au bout de ce qu'ils voulaient faire, par exemple une commande.",
                action: "Pendant les heures ouvrées, nous examinons les messages d'erreur de l'application sous 30 minutes, corrigeons la cause ou annulons la dernière modification, et vous expliquons ce qui s'est passé.",
                audience: "Le développeur d'astreinte de l'agence par e-mail immédiatement ; votre interlocuteur par e-mail.",
            },
        ],
    },
    Template {
        id: "slow-pages",
        name: [
            "Pages slower than 1 second",
            "Seiten langsamer als 1 Sekunde",
            "Pages plus lentes qu'une seconde",
        ],
        expr: r#"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"#,
        comparator: ">",
        value: 1.0,
        warning: Some(0.5),
        for_secs: 600,
        severity: "warning",
        unit: "s",
        explanation: [
            Text {
                meaning: "One visit in twenty waits longer than a second for a page. Slow pages cost orders: many visitors leave before the page appears.",
                action: "We check the server load and the slowest pages on the next working day, and propose a fix if it lasts.",
                audience: "The agency's developers by e-mail; you see it here.",
            },
            Text {
                meaning: "Einer von zwanzig Aufrufen wartet länger als eine Sekunde auf eine Seite. Langsame Seiten kosten Bestellungen: Viele Besucher gehen, bevor die Seite erscheint.",
                action: "Wir prüfen am nächsten Arbeitstag die Serverlast und die langsamsten Seiten und schlagen eine Lösung vor, wenn es anhält.",
                audience: "Die Entwickler der Agentur per E-Mail; Sie sehen es hier.",
            },
            Text {
                meaning: "Une visite sur vingt attend plus d'une seconde qu'une page s'affiche. Les pages lentes coûtent des commandes : beaucoup de visiteurs partent avant que la page n'apparaisse.",
                action: "Nous vérifions la charge du serveur et les pages les plus lentes le jour ouvré suivant, et proposons une solution si cela dure.",
                audience: "Les développeurs de l'agence par e-mail ; vous le voyez ici.",
            },
        ],
    },
    Template {
        id: "target-down",
        name: [
            "Application not reachable",
            "Anwendung nicht erreichbar",
            "Application injoignable",
        ],
        expr: "up",
        comparator: "<",
        value: 1.0,
        warning: None,
        for_secs: 120,
        severity: "critical",
        unit: "short",
        explanation: [
            Text {
                meaning: "Vitrine cannot reach your application's measuring point for two minutes. Often the application itself is down, so your visitors cannot reach it either.",
                action: "We check at once whether the site is reachable, restart the service if needed and tell you when it is back.",
                audience: "The agency's on-call developer by e-mail at once; your contact person by e-mail.",
            },
            Text {
                meaning: "Vitrine erreicht den Messpunkt Ihrer Anwendung seit zwei Minuten nicht. Oft ist dann die Anwendung selbst ausgefallen, und Ihre Besucher erreichen sie auch nicht.",
                action: "Wir prüfen sofort, ob die Seite erreichbar ist, starten den Dienst bei Bedarf neu und sagen Ihnen Bescheid, wenn sie wieder läuft.",
                audience: "Die diensthabende Entwicklerin der Agentur sofort per E-Mail; Ihre Ansprechperson per E-Mail.",
            },
            Text {
                meaning: "Vitrine n'arrive plus à joindre le point de mesure de votre application depuis deux minutes. Souvent, l'application elle-même est arrêtée et vos visiteurs ne peuvent pas y accéder non plus.",
                action: "Nous vérifions immédiatement si le site est accessible, redémarrons le service si nécessaire et vous prévenons dès qu'il fonctionne à nouveau.",
                audience: "Le développeur d'astreinte de l'agence par e-mail immédiatement ; votre interlocuteur par e-mail.",
            },
        ],
    },
    Template {
        id: "no-orders",
        name: [
            "No orders for 30 minutes",
            "Seit 30 Minuten keine Bestellung",
            "Aucune commande depuis 30 minutes",
        ],
        expr: r#"sum(increase(business_transactions_total{type="order",status="ok"}[30m])) and on () (hour() >= 7 < 19)"#,
        comparator: "<",
        value: 1.0,
        warning: None,
        for_secs: 60,
        severity: "warning",
        unit: "short",
        explanation: [
            Text {
                meaning: "During business hours (8 to 20 o'clock in Germany) no order came in for half an hour. The shop may look fine and still not sell, for example when the checkout or the payment provider fails.",
                action: "We place a test order, check the payment provider and call you if the checkout is broken.",
                audience: "The agency's on-call developer and your shop manager by e-mail.",
            },
            Text {
                meaning: "Während der Geschäftszeiten (8 bis 20 Uhr) ist seit einer halben Stunde keine Bestellung eingegangen. Der Shop kann normal aussehen und trotzdem nichts verkaufen, etwa wenn die Kasse oder der Zahlungsanbieter ausfällt.",
                action: "Wir geben eine Testbestellung auf, prüfen den Zahlungsanbieter und rufen Sie an, wenn die Kasse nicht funktioniert.",
                audience: "Die diensthabende Entwicklerin der Agentur und Ihre Shop-Leitung per E-Mail.",
            },
            Text {
                meaning: "Pendant les heures d'ouverture (de 8 h à 20 h, heure d'Allemagne), aucune commande n'est arrivée depuis une demi-heure. La boutique peut sembler normale et pourtant ne rien vendre, par exemple si la caisse ou le prestataire de paiement est en panne.",
                action: "Nous passons une commande de test, vérifions le prestataire de paiement et vous appelons si la caisse ne fonctionne pas.",
                audience: "Le développeur d'astreinte de l'agence et le responsable de votre boutique par e-mail.",
            },
        ],
    },
    Template {
        id: "disk-full",
        name: [
            "Disk more than 90 % full",
            "Festplatte zu über 90 % voll",
            "Disque plein à plus de 90 %",
        ],
        expr: r#"1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"}"#,
        comparator: ">",
        value: 0.9,
        warning: Some(0.8),
        for_secs: 900,
        severity: "warning",
        unit: "percentunit",
        explanation: [
            Text {
                meaning: "A disk of your server is more than 90 % full. When it is full, the application can no longer save orders, uploads or its logs and stops working.",
                action: "We clean up old logs and backups within a working day, or propose a larger disk.",
                audience: "The agency's developers by e-mail.",
            },
            Text {
                meaning: "Eine Festplatte Ihres Servers ist zu mehr als 90 % voll. Ist sie voll, kann die Anwendung keine Bestellungen, Uploads oder Protokolle mehr speichern und funktioniert nicht mehr.",
                action: "Wir räumen innerhalb eines Arbeitstags alte Protokolle und Sicherungen auf oder schlagen eine größere Festplatte vor.",
                audience: "Die Entwickler der Agentur per E-Mail.",
            },
            Text {
                meaning: "Un disque de votre serveur est rempli à plus de 90 %. Une fois plein, l'application ne peut plus enregistrer de commandes, de fichiers ni ses journaux et cesse de fonctionner.",
                action: "Nous supprimons les anciens journaux et sauvegardes dans la journée ouvrée, ou proposons un disque plus grand.",
                audience: "Les développeurs de l'agence par e-mail.",
            },
        ],
    },
    Template {
        id: "memory-full",
        name: [
            "Memory more than 90 % used",
            "Arbeitsspeicher zu über 90 % belegt",
            "Mémoire utilisée à plus de 90 %",
        ],
        expr: "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
        comparator: ">",
        value: 0.9,
        warning: Some(0.8),
        for_secs: 600,
        severity: "warning",
        unit: "percentunit",
        explanation: [
            Text {
                meaning: "Your server uses more than 90 % of its memory. The application gets slow, and the system may stop parts of it to free memory.",
                action: "We look for the process that takes the memory within a working day and restart it or propose more memory.",
                audience: "The agency's developers by e-mail.",
            },
            Text {
                meaning: "Ihr Server nutzt mehr als 90 % seines Arbeitsspeichers. Die Anwendung wird langsam, und das System beendet womöglich Teile davon, um Speicher freizugeben.",
                action: "Wir suchen innerhalb eines Arbeitstags den Prozess, der den Speicher belegt, und starten ihn neu oder schlagen mehr Speicher vor.",
                audience: "Die Entwickler der Agentur per E-Mail.",
            },
            Text {
                meaning: "Votre serveur utilise plus de 90 % de sa mémoire. L'application ralentit et le système peut en arrêter des parties pour libérer de la mémoire.",
                action: "Nous cherchons dans la journée ouvrée le processus qui occupe la mémoire, le redémarrons ou proposons davantage de mémoire.",
                audience: "Les développeurs de l'agence par e-mail.",
            },
        ],
    },
    Template {
        id: "certificate-expiry",
        name: [
            "TLS certificate expires in under 14 days",
            "TLS-Zertifikat läuft in unter 14 Tagen ab",
            "Certificat TLS expirant dans moins de 14 jours",
        ],
        expr: "probe_ssl_earliest_cert_expiry - time()",
        comparator: "<",
        value: 14.0 * 86400.0,
        warning: Some(30.0 * 86400.0),
        for_secs: 600,
        severity: "warning",
        unit: "s",
        explanation: [
            Text {
                meaning: "The certificate that lets browsers open your site securely (the lock in the address bar) ends in less than two weeks. After that day, visitors see a warning instead of your site.",
                action: "We renew the certificate this week and check that the site shows the new one; nothing changes for your visitors.",
                audience: "The agency's on-call developer by e-mail; your contact person when the renewal needs something from you (for example a payment to the certificate's issuer).",
            },
            Text {
                meaning: "Das Zertifikat, mit dem Browser Ihre Seite sicher öffnen (das Schloss in der Adresszeile), endet in weniger als zwei Wochen. Ab diesem Tag sehen Besucher eine Warnung statt Ihrer Seite.",
                action: "Wir erneuern das Zertifikat diese Woche und prüfen, dass die Seite das neue zeigt; für Ihre Besucher ändert sich nichts.",
                audience: "Die diensthabende Entwicklerin der Agentur per E-Mail; Ihre Ansprechperson, wenn die Erneuerung etwas von Ihnen braucht (zum Beispiel eine Zahlung an den Aussteller).",
            },
            Text {
                meaning: "Le certificat qui permet aux navigateurs d'ouvrir votre site en sécurité (le cadenas dans la barre d'adresse) expire dans moins de deux semaines. Après cette date, les visiteurs voient un avertissement au lieu de votre site.",
                action: "Nous renouvelons le certificat cette semaine et vérifions que le site présente le nouveau ; rien ne change pour vos visiteurs.",
                audience: "Le développeur d'astreinte de l'agence par e-mail ; votre interlocuteur si le renouvellement demande quelque chose de votre part (par exemple un paiement à l'émetteur).",
            },
        ],
    },
    Template {
        id: "page-check-fails",
        name: [
            "A page check fails (down, error or text missing)",
            "Eine Seitenprüfung schlägt fehl (nicht erreichbar, Fehler oder Text fehlt)",
            "Une vérification de page échoue (injoignable, erreur ou texte manquant)",
        ],
        expr: "probe_success",
        comparator: "<",
        value: 1.0,
        warning: None,
        for_secs: 120,
        severity: "critical",
        unit: "short",
        explanation: [
            Text {
                meaning: "A page we open every minute like a visitor does not work: it does not answer, answers with an error, or lacks the text it must show (for example the “Add to cart” button). Your visitors see the same.",
                action: "We look at it within 15 minutes, fix it or restore the last working version, and write on your status page what is happening.",
                audience: "The agency's on-call developer at once by e-mail; your contact person by e-mail; the public through the status page.",
            },
            Text {
                meaning: "Eine Seite, die wir jede Minute wie ein Besucher öffnen, funktioniert nicht: sie antwortet nicht, antwortet mit einem Fehler oder zeigt den Text nicht, den sie zeigen muss (zum Beispiel den Knopf „In den Warenkorb“). Ihre Besucher sehen dasselbe.",
                action: "Wir sehen es uns innerhalb von 15 Minuten an, beheben es oder stellen die letzte funktionierende Version wieder her und schreiben auf Ihre Statusseite, was passiert.",
                audience: "Die diensthabende Entwicklerin der Agentur sofort per E-Mail; Ihre Ansprechperson per E-Mail; die Öffentlichkeit über die Statusseite.",
            },
            Text {
                meaning: "Une page que nous ouvrons chaque minute comme un visiteur ne fonctionne pas : elle ne répond pas, répond par une erreur ou n'affiche pas le texte qu'elle doit montrer (par exemple le bouton « Ajouter au panier »). Vos visiteurs voient la même chose.",
                action: "Nous regardons sous 15 minutes, corrigeons ou remettons la dernière version qui fonctionnait, et écrivons sur votre page d'état ce qui se passe.",
                audience: "Le développeur d'astreinte de l'agence par e-mail immédiatement ; votre interlocuteur par e-mail ; le public via la page d'état.",
            },
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_has_its_texts() {
        for t in &TEMPLATES {
            vitrine_promql::parse(t.expr).unwrap_or_else(|e| panic!("{}: {e}", t.id));
            assert!(app::dto::Comparison::parse(t.comparator).is_some(), "{}", t.id);
            for text in &t.explanation {
                assert!(!text.meaning.is_empty() && !text.action.is_empty() && !text.audience.is_empty());
            }
            assert!(t.name.iter().all(|n| !n.is_empty()));
        }
    }
}
