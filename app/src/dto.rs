//! Plain data the server hands to the UI. No behaviour, no secrets.

use serde::{Deserialize, Serialize};

/// The signed-in person, shown in the page header.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Viewer {
    pub email: String,
    /// Where "home" is for this person (`/agency` or `/clients/{slug}`).
    pub home: String,
    /// The token every state-changing form of this session must carry.
    pub csrf: String,
    /// The person's language setting (`en`, `de`); `None` follows the browser.
    pub language: Option<String>,
}

/// What a request shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Page {
    Login(LoginPage),
    AgencyHome(AgencyHome),
    ClientHome(ClientHome),
    AcceptInvite(AcceptInvite),
    InviteInvalid,
    Problem(Problem),
}

/// Pages that explain why a request did not work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Problem {
    NotFound,
    Forbidden,
    CsrfRejected,
    TooLarge,
    Internal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Notice {
    LoggedOut,
    PasswordSet,
    Saved,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LoginPage {
    pub email: String,
    pub next: Option<String>,
    pub error: Option<LoginError>,
    pub notice: Option<Notice>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginError {
    InvalidCredentials,
    RateLimited { retry_after_secs: u64 },
}

/// Why a form field was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldProblem {
    Required,
    InvalidSlug,
    Taken,
    InvalidEmail,
    TooLong,
    PasswordTooShort,
    PasswordMismatch,
    InvalidChoice,
}

/// A submitted form: the values as typed (so nothing is lost) and the
/// problems per field name.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FormState {
    pub values: Vec<(String, String)>,
    pub problems: Vec<(String, FieldProblem)>,
}

impl FormState {
    pub fn value(&self, field: &str) -> &str {
        self.values
            .iter()
            .find(|(name, _)| name == field)
            .map_or("", |(_, value)| value.as_str())
    }

    pub fn problem(&self, field: &str) -> Option<FieldProblem> {
        self.problems
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, problem)| *problem)
    }

    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnvironmentSummary {
    pub name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProjectSummary {
    pub slug: String,
    pub name: String,
    pub environments: Vec<EnvironmentSummary>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientSummary {
    pub slug: String,
    pub name: String,
    pub language: String,
    pub projects: Vec<ProjectSummary>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgencyHome {
    pub agency_name: String,
    pub clients: Vec<ClientSummary>,
    pub can_create_client: bool,
    pub client_form: FormState,
}

/// Which form on the client page was submitted (and failed), if any.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ClientForm {
    Project(FormState),
    Environment { project: String, form: FormState },
    Invite(FormState),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientHome {
    pub client: ClientSummary,
    pub can_manage_projects: bool,
    pub can_invite: bool,
    pub failed_form: Option<ClientForm>,
    pub invite_created_for: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AcceptInvite {
    pub token: String,
    pub email: String,
    pub client_name: String,
    pub form: FormState,
}
