//! The support services a centre lists for the people it sees: printed on
//! the slip a person takes away, shown in the app's footer and at the end
//! of the report form. A desk starts with national services; a coordinator
//! confirms them (or the centre's own) at set-up, and the confirmation is
//! audited. The list names services, never people, so it is kept in clear.

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditAction};
use crate::desk::{Desk, Session};
use crate::error::{Error, Result, classify_sqlite};
use crate::time;

/// The most services a list may hold: a slip has one page.
pub const MAX_SERVICES: usize = 10;

const SETTING: &str = "support_services";

/// One service.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportService {
    /// Its name, and what it is for ("Tell MAMA: anti-Muslim hatred").
    pub name: String,
    /// A phone number ("0800 138 1625"); may be empty when there is a
    /// website.
    #[serde(default)]
    pub phone: String,
    /// A website without the scheme ("stophateuk.org"); may be empty.
    #[serde(default)]
    pub website: String,
    /// The languages it works in, as the centre writes them ("English,
    /// Polish; interpreters on request"); may be empty.
    #[serde(default)]
    pub languages: String,
}

/// The centre's list, and whether a coordinator has confirmed it.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportServices {
    /// The services, in the order shown.
    pub services: Vec<SupportService>,
    /// When a coordinator confirmed the list (`None`: the national defaults
    /// no one at this centre has checked yet).
    #[serde(default, serialize_with = "time::as_text_opt")]
    #[cfg_attr(feature = "bindings", specta(type = Option<String>))]
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Who confirmed it.
    #[serde(default)]
    pub confirmed_by: Option<String>,
}

/// National services in England and Wales, as listed when this was
/// written: what a new desk starts with until a coordinator confirms them.
pub fn national_defaults() -> Vec<SupportService> {
    let service = |name: &str, phone: &str, website: &str| SupportService {
        name: name.into(),
        phone: phone.into(),
        website: website.into(),
        languages: String::new(),
    };
    vec![
        service(
            "Victim Support (free, confidential, whether or not you go to the police)",
            "08 08 16 89 111",
            "victimsupport.org.uk",
        ),
        service(
            "Stop Hate UK (24-hour helpline)",
            "0800 138 1625",
            "stophateuk.org",
        ),
        service(
            "Tell MAMA (anti-Muslim hatred)",
            "0800 456 1226",
            "tellmamauk.org",
        ),
        service("CST (antisemitism)", "0800 032 3263", "cst.org.uk"),
        service("Galop (LGBT+ people)", "020 7704 2040", "galop.org.uk"),
        service(
            "Samaritans (someone to talk to, day or night)",
            "116 123",
            "samaritans.org",
        ),
    ]
}

impl Desk {
    /// The centre's support services (the national defaults until a
    /// coordinator confirms a list). No unlock needed: they name no one.
    pub fn support_services(&self) -> Result<SupportServices> {
        let stored: Option<String> = self
            .db()
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                [SETTING],
                |r| r.get(0),
            )
            .optional()
            .map_err(classify_sqlite)?;
        match stored {
            None => Ok(SupportServices {
                services: national_defaults(),
                confirmed_at: None,
                confirmed_by: None,
            }),
            Some(json) => serde_json::from_str(&json)
                .map_err(|_| Error::Integrity("the support services setting is damaged")),
        }
    }

    /// Confirms the centre's list (coordinators only; audited): the list as
    /// given, checked, becomes what every slip and screen shows.
    pub fn set_support_services(
        &mut self,
        s: &Session,
        services: Vec<SupportService>,
    ) -> Result<SupportServices> {
        self.check_session(s)?;
        crate::desk::require_coordinator(s, "confirming the support services")?;
        let services = check(services)?;
        let list = SupportServices {
            services,
            confirmed_at: Some(self.now_stored()),
            confirmed_by: Some(s.user().name.clone()),
        };
        let json = serde_json::to_string(&list)
            .map_err(|_| Error::Integrity("the support services could not be written"))?;
        let detail = format!("{} service(s) confirmed", list.services.len());
        let user = s.user().name.clone();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [SETTING, &json],
            )?;
            audit::append(
                tx,
                Some(&user),
                AuditAction::SettingChanged,
                Some(SETTING),
                Some(&detail),
            )
        })?;
        Ok(list)
    }
}

/// Tidies and checks a list: each service has a name and a phone number or
/// website, each field fits on the slip, and a number is dialable.
pub fn check(services: Vec<SupportService>) -> Result<Vec<SupportService>> {
    if services.is_empty() {
        return Err(Error::InvalidInput(
            "list at least one support service (the national ones are a good start)".into(),
        ));
    }
    if services.len() > MAX_SERVICES {
        return Err(Error::InvalidInput(format!(
            "a slip has room for {MAX_SERVICES} support services; list the most useful"
        )));
    }
    services
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let n = i + 1;
            let field = |value: String, what: &str, most: usize| -> Result<String> {
                let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
                if value.chars().count() > most {
                    return Err(Error::InvalidInput(format!(
                        "service {n}: the {what} is longer than {most} characters"
                    )));
                }
                Ok(value)
            };
            let service = SupportService {
                name: field(s.name, "name", 90)?,
                phone: field(s.phone, "phone number", 24)?,
                website: field(s.website, "website", 80)?,
                languages: field(s.languages, "list of languages", 80)?,
            };
            if service.name.is_empty() {
                return Err(Error::InvalidInput(format!("service {n} has no name")));
            }
            if service.phone.is_empty() && service.website.is_empty() {
                return Err(Error::InvalidInput(format!(
                    "service {n} ({}) needs a phone number or a website",
                    service.name
                )));
            }
            let dialable = service
                .phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()".contains(c));
            let digits = service.phone.chars().filter(char::is_ascii_digit).count();
            if !service.phone.is_empty() && (!dialable || digits < 3) {
                return Err(Error::InvalidInput(format!(
                    "service {n} ({}): a phone number holds digits, spaces, + - ( ) only",
                    service.name
                )));
            }
            if service.website.contains(' ') {
                return Err(Error::InvalidInput(format!(
                    "service {n} ({}): a website has no spaces",
                    service.name
                )));
            }
            Ok(service)
        })
        .collect()
}
