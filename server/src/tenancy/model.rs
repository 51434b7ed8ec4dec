//! Parsed values: once a `Slug` or an `Email` exists it is valid.

use app::dto::FieldProblem;
use std::fmt;

/// A short lowercase name used in addresses: 2–40 of `a-z 0-9 -`, starting
/// with a letter, not ending with a dash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Slug, FieldProblem> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldProblem::Required);
        }
        let valid = (2..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && !s.ends_with('-')
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(Slug(s.to_string()))
        } else {
            Err(FieldProblem::InvalidSlug)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address, trimmed and lowercased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, FieldProblem> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(FieldProblem::Required);
        }
        if s.len() > 254 {
            return Err(FieldProblem::TooLong);
        }
        let valid = match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if valid {
            Ok(Email(s))
        } else {
            Err(FieldProblem::InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A display name: not empty, at most 100 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Name, FieldProblem> {
        let s = raw.trim();
        if s.is_empty() {
            Err(FieldProblem::Required)
        } else if s.chars().count() > 100 {
            Err(FieldProblem::TooLong)
        } else {
            Ok(Name(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 12 to 1024 characters. Never printed.
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(raw: &str) -> Result<NewPassword, FieldProblem> {
        let count = raw.chars().count();
        if raw.is_empty() {
            Err(FieldProblem::Required)
        } else if count < 12 {
            Err(FieldProblem::PasswordTooShort)
        } else if count > 1024 {
            Err(FieldProblem::TooLong)
        } else {
            Ok(NewPassword(raw.to_string()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The new password of a form: `password`, typed again the same in `password_confirm`.
    pub fn from_form(form: &[(String, String)]) -> super::Result<NewPassword> {
        let mut check = super::FormCheck::new(form);
        let password = check.field("password", NewPassword::parse);
        let confirm = form
            .iter()
            .find(|(name, _)| name == "password_confirm")
            .map(|(_, v)| v.as_str());
        if password.is_some() && confirm != password.as_ref().map(NewPassword::expose) {
            check.problem("password_confirm", FieldProblem::PasswordMismatch);
        }
        check.finish(|| password)
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// The language of a client's pages and mails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    En,
    De,
    Fr,
}

impl Language {
    pub fn parse(raw: &str) -> Result<Language, FieldProblem> {
        match raw.trim() {
            "en" | "" => Ok(Language::En),
            "de" => Ok(Language::De),
            "fr" => Ok(Language::Fr),
            _ => Err(FieldProblem::InvalidChoice),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::De => "de",
            Language::Fr => "fr",
        }
    }
}

/// What a person may do. Agency roles see every client of the agency;
/// client roles see only their own client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    AgencyOwner,
    AgencyAdmin,
    AgencyStaff,
    ClientAdmin,
    ClientViewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::AgencyOwner,
        Role::AgencyAdmin,
        Role::AgencyStaff,
        Role::ClientAdmin,
        Role::ClientViewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::AgencyOwner => "agency_owner",
            Role::AgencyAdmin => "agency_admin",
            Role::AgencyStaff => "agency_staff",
            Role::ClientAdmin => "client_admin",
            Role::ClientViewer => "client_viewer",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == raw)
    }

    pub fn is_agency(self) -> bool {
        matches!(self, Role::AgencyOwner | Role::AgencyAdmin | Role::AgencyStaff)
    }

    /// Owners and admins of the agency create clients.
    pub fn may_create_clients(self) -> bool {
        matches!(self, Role::AgencyOwner | Role::AgencyAdmin)
    }

    /// Owners and admins of the agency keep the catalogue, the Stripe keys and the contracts.
    pub fn may_manage_billing(self) -> bool {
        matches!(self, Role::AgencyOwner | Role::AgencyAdmin)
    }

    /// The contract page: the agency's owners and admins, and the client's admins.
    pub fn may_see_contract(self) -> bool {
        self.may_manage_billing() || self == Role::ClientAdmin
    }

    /// Agency people set up projects and environments.
    pub fn may_manage_projects(self) -> bool {
        self.is_agency()
    }

    /// Agency people and a client's admins invite people to that client.
    pub fn may_invite(self) -> bool {
        self.is_agency() || self == Role::ClientAdmin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(Slug::parse(" acme-shop ").unwrap().as_str(), "acme-shop");
        assert_eq!(Slug::parse(""), Err(FieldProblem::Required));
        for bad in ["a", "Acme", "1shop", "shop-", "sh op", "shöp", &"a".repeat(41)] {
            assert_eq!(Slug::parse(bad), Err(FieldProblem::InvalidSlug), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(Email::parse(" Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
        for bad in ["ann", "ann@", "@x.de", "a@b", "a@@b.de", "a b@c.de", "a@.de"] {
            assert_eq!(Email::parse(bad), Err(FieldProblem::InvalidEmail), "{bad}");
        }
    }

    #[test]
    fn passwords_and_roles() {
        assert_eq!(NewPassword::parse("short").unwrap_err(), FieldProblem::PasswordTooShort);
        assert!(NewPassword::parse("twelve chars").is_ok());
        assert_eq!(
            format!("{:?}", NewPassword::parse("secret secret").unwrap()),
            "NewPassword(***)"
        );
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert!(!Role::ClientAdmin.may_manage_projects());
        assert!(Role::ClientAdmin.may_invite());
        assert!(!Role::ClientViewer.may_invite());
    }

    #[test]
    fn languages() {
        for language in [Language::En, Language::De, Language::Fr] {
            assert_eq!(Language::parse(language.as_str()), Ok(language));
        }
        assert_eq!(Language::parse(" fr "), Ok(Language::Fr));
        assert_eq!(Language::parse(""), Ok(Language::En));
        for bad in ["FR", "fr-FR", "français", "it", "es"] {
            assert_eq!(Language::parse(bad), Err(FieldProblem::InvalidChoice), "{bad}");
        }
    }
}
