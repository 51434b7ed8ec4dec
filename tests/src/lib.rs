//! Harness for black-box tests of the `vitrine` binary: start a server with
//! the demo data in a fresh directory, talk HTTP to it like a browser without
//! JavaScript would, and read its log.
//!
//! The binary is taken from `VITRINE_BIN`, else `<workspace>/target/debug/vitrine`
//! (build it with `cargo build -p vitrine`).

use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::HeaderMap;
use reqwest::redirect::Policy;
use serde::Deserialize;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub mod stripe;

/// The demo people (see `vitrine serve --demo`).
pub const OWNER: (&str, &str) = ("owner@agency.example", "vitrine-demo-owner");
pub const ACME_ADMIN: (&str, &str) = ("admin@acme.example", "vitrine-demo-client");
pub const GLOBEX_ADMIN: (&str, &str) = ("admin@globex.example", "vitrine-demo-globex");

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "vitrine_session";

const START_TIMEOUT: Duration = Duration::from_secs(30);
const LISTENING: &str = "Vitrine listening on ";

/// Path of the binary under test.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("VITRINE_BIN") {
        return PathBuf::from(path);
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| if dir.is_absolute() { dir } else { workspace.join(dir) })
        .unwrap_or_else(|| workspace.join("target"));
    let path = target.join("debug").join("vitrine");
    if !path.exists() {
        panic!(
            "the vitrine binary is missing at {}: run `cargo build -p vitrine` first (or set VITRINE_BIN)",
            path.display()
        );
    }
    path
}

/// A command for the binary with none of the caller's `VITRINE_*` settings.
fn command() -> Command {
    let mut command = Command::new(binary());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("VITRINE_") {
            command.env_remove(name);
        }
    }
    command.env("NO_COLOR", "1");
    command
}

/// One line of `vitrine routes`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub access: String,
}

impl Route {
    pub fn signed_in(&self) -> bool {
        self.access == "signed_in"
    }

    /// The path with its parameters filled in.
    pub fn fill(&self, place: &Place<'_>, token: &str) -> String {
        self.path
            .replace("{client}", place.client)
            .replace("{project}", place.project)
            .replace("{environment}", place.environment)
            .replace("{target}", place.target)
            .replace("{token}", token)
    }
}

/// The values for a route's tenant parameters: slugs of a client and a project,
/// an environment's name and a target's id.
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    pub client: &'a str,
    pub project: &'a str,
    pub environment: &'a str,
    pub target: &'a str,
}

impl<'a> Place<'a> {
    pub fn new(client: &'a str, project: &'a str, environment: &'a str, target: &'a str) -> Place<'a> {
        Place {
            client,
            project,
            environment,
            target,
        }
    }
}

/// The address of an environment's targets page.
pub fn targets_path(client: &str, project: &str, environment: &str) -> String {
    format!("/clients/{client}/projects/{project}/environments/{environment}/targets")
}

/// One row of a targets page, as read from its HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSeen {
    pub id: i64,
    pub job: String,
    pub url: String,
    /// The text of the health badge (`up`, `down`, `waiting`).
    pub health: String,
    /// The whole row as text (tags included), for further checks.
    pub row: String,
}

/// The targets listed on a targets page, in page order.
pub fn targets_on_page(html: &str) -> Vec<TargetSeen> {
    let html = visible(html);
    let mut found = vec![];
    let mut rest = html.as_str();
    while let Some(at) = rest.find("<tr id=\"target-") {
        let row_text = &rest[at..];
        let end = row_text.find("</tr>").unwrap_or(row_text.len());
        let row = &row_text[..end];
        let id: String = row["<tr id=\"target-".len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let job = between(row, "<th scope=\"row\">", "<").unwrap_or_default().trim();
        let url = between(row, "<code>", "</code>").unwrap_or_default();
        let health = between(row, "class=\"status ", "</span>")
            .and_then(|badge| badge.split_once('>'))
            .map(|(_, text)| text.trim().to_string())
            .unwrap_or_default();
        found.push(TargetSeen {
            id: id.parse().unwrap_or(-1),
            job: unescape(job),
            url: unescape(url),
            health,
            row: row.to_string(),
        });
        rest = &row_text[end..];
    }
    found
}

/// The route table as the binary prints it.
pub fn routes() -> Vec<Route> {
    let output = command().arg("routes").output().expect("running `vitrine routes`");
    assert!(
        output.status.success(),
        "`vitrine routes` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "`vitrine routes` printed no route table ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// A running `vitrine serve --demo`; killed when dropped.
pub struct Server {
    child: Child,
    dir: TempDir,
    /// The data directory: in `dir`, or the one `VITRINE_DATA_DIR` named.
    data: PathBuf,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts with extra (or overriding) environment variables.
    pub fn start_with(env: &[(&str, &str)]) -> Server {
        let dir = tempfile::Builder::new()
            .prefix("vitrine-test-")
            .tempdir()
            .expect("creating a temporary directory");
        let data = dir.path().join("data");
        let site = dir.path().join("site");
        std::fs::create_dir_all(&data).expect("creating the data directory");
        std::fs::create_dir_all(&site).expect("creating the site directory");
        let log = std::fs::File::create(dir.path().join("server.log")).expect("creating the log file");
        let mut command = command();
        command
            .args(["serve", "--demo"])
            .current_dir(dir.path())
            .env("VITRINE_DATA_DIR", &data)
            .env("VITRINE_SITE_ROOT", &site)
            .env("VITRINE_LISTEN", "127.0.0.1:0")
            .env("VITRINE_SECURE_COOKIES", "false")
            .env("VITRINE_LOG", "info")
            .env("VITRINE_LOG_FORMAT", "text");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary().display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            // Keeps reading after the listening line so the pipe never fills.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = lines.send(line);
            }
        });
        let data = env
            .iter()
            .find(|(name, _)| *name == "VITRINE_DATA_DIR")
            .map_or(data, |(_, dir)| PathBuf::from(dir));
        let mut server = Server {
            child,
            dir,
            data,
            base: String::new(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.trim().strip_prefix(LISTENING) {
                        server.base = url.trim_end_matches('/').to_string();
                        return server;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = server.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    panic!("vitrine exited ({status}) before listening; its log:\n{}", server.log());
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!(
                        "vitrine did not print `{LISTENING}...` within {START_TIMEOUT:?}; its log:\n{}",
                        server.log()
                    );
                }
            }
        }
    }

    /// Kills the process at once (SIGKILL, as `kill -9` or a power cut); the data stays.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.data.clone()
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the server logged so far (standard error), without colour codes.
    pub fn log(&self) -> String {
        let raw = std::fs::read(self.dir.path().join("server.log")).unwrap_or_default();
        strip_ansi(&String::from_utf8_lossy(&raw))
    }

    pub fn log_contains(&self, needle: &str) -> bool {
        self.log().contains(needle)
    }

    /// The text after the last occurrence of `prefix` in the log, up to the next whitespace.
    pub fn find_in_log(&self, prefix: &str) -> Option<String> {
        word_after(&self.log(), prefix)
    }

    /// Runs `vitrine ARGS` against this server's data directory (the command goes
    /// through the running server where it must); its standard output, or a panic.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = self.run_cli(args);
        assert!(
            out.status.success(),
            "vitrine {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `vitrine ARGS` on the server's data directory, expecting it to fail: its stderr.
    pub fn cli_failing(&self, args: &[&str]) -> String {
        let out = self.run_cli(args);
        assert!(!out.status.success(), "vitrine {args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn run_cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(binary())
            .args(args)
            .env("VITRINE_DATA_DIR", self.data_dir())
            .env("VITRINE_LOG", "warn")
            .output()
            .expect("running vitrine")
    }

    /// A new API token of `client`.
    pub fn token(&self, client: &str) -> String {
        self.scoped_token(client, None)
    }

    /// A new API token of `client` that may also do `scope` (`silences:write`, …).
    pub fn scoped_token(&self, client: &str, scope: Option<&str>) -> String {
        let mut args = vec!["token", "create", "--client", client, "--name", scope.unwrap_or("read")];
        if let Some(scope) = scope {
            args.extend(["--scope", scope]);
        }
        self.cli(&args)
            .lines()
            .last()
            .expect("the token on the last line")
            .trim()
            .to_string()
    }

    /// Imports one target scraping `host` every second into a client's environment.
    pub fn scrape_every_second(&self, host: &str, client: &str, project: &str, environment: &str) {
        let yml = self.data_dir().join(format!("{client}-{project}-{environment}.yml"));
        std::fs::write(
            &yml,
            format!(
                "scrape_configs:\n  - job_name: self\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs:\n      - targets: ['{host}']\n"
            ),
        )
        .expect("writing the target file");
        let file = yml.to_str().expect("a UTF-8 path");
        self.cli(&[
            "targets",
            "import",
            file,
            "--client",
            client,
            "--project",
            project,
            "--environment",
            environment,
        ]);
    }

    /// A browser without cookies yet.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// A browser signed in as `email`.
    pub async fn login(&self, (email, password): (&str, &str)) -> Client {
        let client = self.client();
        let response = client.login(email, password).await;
        assert_eq!(response.status, 303, "login as {email} failed: {}", response.summary());
        assert!(
            client.session_cookie().is_some(),
            "login as {email} set no session cookie"
        );
        client
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response, read completely.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Response {
    pub async fn read(response: reqwest::Response) -> Response {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("reading the response body");
        Response { status, headers, body }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }

    /// The value the response gives the session cookie, if it sets one.
    pub fn session_cookie(&self) -> Option<String> {
        self.set_cookies().iter().find_map(|c| cookie_value(c, SESSION_COOKIE))
    }

    /// The body as a person reads it: Leptos' `<!>` markers removed.
    pub fn text(&self) -> String {
        visible(&self.body)
    }

    pub fn contains(&self, needle: &str) -> bool {
        self.text().contains(needle)
    }

    /// For failure messages: the `<main>` part of a page (without the long
    /// head and scripts), or the whole body when it has none.
    pub fn summary(&self) -> String {
        let text = self.text();
        match (text.find("<main"), text.find("</main>")) {
            (Some(start), Some(end)) if start < end => text[start..end + "</main>".len()].to_string(),
            _ => text,
        }
    }

    /// The body with per-response random values (script nonces) blanked out.
    pub fn normalized(&self) -> String {
        normalize(&self.body)
    }

    /// Panics with the page when the status is not `status`.
    #[track_caller]
    pub fn expect_status(&self, status: u16) -> &Response {
        assert_eq!(self.status, status, "unexpected status; page:\n{}", self.summary());
        self
    }

    /// Panics when the page does not contain `needle`.
    #[track_caller]
    pub fn expect_text(&self, needle: &str) -> &Response {
        assert!(self.contains(needle), "the page lacks {needle:?}:\n{}", self.summary());
        self
    }
}

/// A browser: its own cookie store, never follows redirects.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    jar: Arc<Jar>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .cookie_provider(jar.clone())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("building the HTTP client");
        Client {
            base: base.to_string(),
            http,
            jar,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request to build on (headers, body); send it with [`Client::send`].
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path))
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Response {
        Response::read(request.send().await.expect("sending the request")).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    /// A POST with a urlencoded form body.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.send(self.request(reqwest::Method::POST, path).form(fields)).await
    }

    /// A POST with this exact body, labelled as a urlencoded form.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Response {
        let request = self
            .request(reqwest::Method::POST, path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }

    /// The CSRF token of this browser's session, from the head of its home page.
    /// Invites `email` to `client` with `role` and returns the link's path, read from the
    /// answer: the only place the link is ever shown.
    pub async fn invite(&self, client: &str, email: &str, role: &str) -> String {
        let csrf = self.csrf().await;
        let response = self
            .post_form(
                &format!("/clients/{client}/invites"),
                &[("email", email), ("role", role), ("csrf", &csrf)],
            )
            .await;
        response.expect_status(201);
        let link = between(&response.text(), "id=\"new-invite-link\"", "</code>")
            .unwrap_or_else(|| panic!("no invitation link in the answer: {}", response.summary()))
            .to_string();
        let path = link.find("/invite/").map(|at| link[at..].to_string());
        path.unwrap_or_else(|| panic!("the link {link} has no /invite/ path"))
    }

    pub async fn csrf(&self) -> String {
        let mut response = self.get("/").await;
        let mut hops = 0;
        while response.status == 303 && hops < 3 {
            let next = response.location().expect("redirect without location").to_string();
            response = self.get(&next).await;
            hops += 1;
        }
        assert_eq!(
            response.status,
            200,
            "the home page did not open: {}",
            response.summary()
        );
        meta_content(&response.body, "csrf-token")
            .unwrap_or_else(|| panic!("no csrf-token meta on the home page:\n{}", response.body))
    }

    /// The session cookie value this browser would send now.
    pub fn session_cookie(&self) -> Option<String> {
        let url = self.base.parse().expect("base URL");
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split(';').find_map(|pair| {
            pair.trim()
                .strip_prefix(&format!("{SESSION_COOKIE}="))
                .map(str::to_string)
        })
    }

    /// Plants a session cookie, as an attacker or a stolen cookie would.
    pub fn set_session_cookie(&self, value: &str) {
        let url = self.base.parse().expect("base URL");
        self.jar
            .add_cookie_str(&format!("{SESSION_COOKIE}={value}; Path=/"), &url);
    }
}

// ---------------------------------------------------------------------------
// String helpers (no regex).

/// Removes ANSI colour sequences (`ESC [ ... letter`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The text after the last occurrence of `prefix`, up to the next whitespace.
pub fn word_after(haystack: &str, prefix: &str) -> Option<String> {
    let start = haystack.rfind(prefix)? + prefix.len();
    let rest = &haystack[start..];
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// The part of `s` between the first `start` and the following `end`.
pub fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

/// The value of cookie `name` in one `Set-Cookie` header.
pub fn cookie_value(set_cookie: &str, name: &str) -> Option<String> {
    let first = set_cookie.split(';').next()?.trim();
    first.strip_prefix(name)?.strip_prefix('=').map(str::to_string)
}

/// Rendered HTML as text: without the `<!>` hydration markers Leptos puts between text pieces.
pub fn visible(html: &str) -> String {
    html.replace("<!>", "").replace("<!---->", "")
}

/// Decodes the entities Leptos writes into attribute values and text.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// Every start tag `<name ...>` in `html`.
pub fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let mut found = vec![];
    let mut rest = html;
    while let Some(at) = rest.find(&open) {
        let tail = &rest[at..];
        let after = tail[open.len()..].chars().next();
        let Some(end) = tail.find('>') else { break };
        if matches!(after, Some(c) if c.is_whitespace() || c == '>' || c == '/') {
            found.push(&tail[..=end]);
        }
        rest = &tail[end..];
    }
    found
}

/// The (unescaped) value of attribute `attr` in one start tag.
pub fn attr(tag: &str, attr: &str) -> Option<String> {
    let mut rest = tag;
    let needle = format!("{attr}=\"");
    while let Some(at) = rest.find(&needle) {
        let preceded_by_space = rest[..at].ends_with(|c: char| c.is_whitespace());
        let value_start = at + needle.len();
        if preceded_by_space {
            let len = rest[value_start..].find('"')?;
            return Some(unescape(&rest[value_start..value_start + len]));
        }
        rest = &rest[value_start..];
    }
    None
}

/// Attribute `wanted` of the first `<tag>` whose attribute `key` is `value`.
pub fn tag_attr(html: &str, tag: &str, (key, value): (&str, &str), wanted: &str) -> Option<String> {
    tags(html, tag)
        .into_iter()
        .find(|t| attr(t, key).as_deref() == Some(value))
        .and_then(|t| attr(t, wanted))
}

/// `content` of `<meta name="...">`.
pub fn meta_content(html: &str, name: &str) -> Option<String> {
    tag_attr(html, "meta", ("name", name), "content")
}

/// `value` of the `<input>` with this `id`.
pub fn input_value_by_id(html: &str, id: &str) -> Option<String> {
    tag_attr(html, "input", ("id", id), "value")
}

/// Blanks out the values that differ between two renderings of the same page
/// (the script nonce, which Leptos also writes into `crossorigin`).
pub fn normalize(html: &str) -> String {
    let mut out = html.to_string();
    for key in ["nonce=\"", "crossorigin=\""] {
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find(key) {
            let value_start = at + key.len();
            result.push_str(&rest[..value_start]);
            match rest[value_start..].find('"') {
                Some(len) => {
                    result.push_str("NONCE");
                    rest = &rest[value_start + len..];
                }
                None => {
                    rest = &rest[value_start..];
                    break;
                }
            }
        }
        result.push_str(rest);
        out = result;
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters (for query parameters).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Decodes a `application/x-www-form-urlencoded` value (for `next=` in locations).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(high), Some(low)) => {
                        out.push((high * 16 + low) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A loopback `/metrics` endpoint answering the gauge `queue_length` with the value in `value`
/// at each scrape; returns its `host:port`.
pub fn serve_queue_length(value: Arc<std::sync::atomic::AtomicU64>) -> String {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let host = listener.local_addr().expect("its address").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let body = format!(
                "# TYPE queue_length gauge\nqueue_length {}\n",
                value.load(std::sync::atomic::Ordering::Relaxed)
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    host
}

/// Adds to globex's portal/live, as the agency owner, a threshold on the `queue_length` of
/// [`serve_queue_length`]: an alarm above 10 for 2 s.
pub async fn add_queue_threshold(server: &Server, name: &str) {
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    owner
        .post_form(
            "/clients/globex/thresholds",
            &[
                ("csrf", csrf.as_str()),
                ("place", "portal/live"),
                ("name", name),
                ("expr", "max(queue_length)"),
                ("comparator", ">"),
                ("value", "10"),
                ("for", "2s"),
                ("severity", "critical"),
                ("unit", "short"),
                (
                    "meaning_en",
                    "Orders wait in the queue: customers get their confirmation late.",
                ),
                ("action_en", "We add a worker within the hour."),
                ("audience_en", "You and the agency's developers by e-mail."),
            ],
        )
        .await
        .expect_status(303);
}

/// The card of the threshold `id` on `client`'s thresholds page, as `person` sees it.
pub async fn threshold_card(person: &Client, client: &str, id: &str) -> String {
    let page = person.get(&format!("/clients/{client}/thresholds")).await;
    page.expect_status(200);
    let start = format!("id=\"threshold-{id}\"");
    let body = page.text();
    let at = body
        .find(&start)
        .unwrap_or_else(|| panic!("no threshold {id} on the page: {}", page.summary()));
    let end = body[at..].find("</article>").map_or(body.len(), |e| at + e);
    body[at..end].to_string()
}

pub async fn wait_for_threshold_card(person: &Client, client: &str, id: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let card = threshold_card(person, client, id).await;
        if card.contains(needle) {
            return card;
        }
        assert!(
            Instant::now() < deadline,
            "the threshold never showed {needle:?}: {card}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A real SMTP server (Debian's `aiosmtpd`) on a loopback port, keeping every mail it accepts
/// in a Maildir; stopped and started again on the same port to play an outage.
pub struct SmtpServer {
    child: Option<Child>,
    port: u16,
    maildir: TempDir,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let maildir = tempfile::tempdir().expect("a temporary Maildir");
        let mut server = SmtpServer {
            child: None,
            port,
            maildir,
        };
        server.resume();
        server
    }

    /// `smtp://127.0.0.1:PORT`: plain SMTP to a local relay.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops accepting mail: connections are refused until [`SmtpServer::resume`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again) on its port and waits until it accepts connections.
    pub fn resume(&mut self) {
        let child = Command::new("aiosmtpd")
            .args([
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(self.maildir.path().join("mail"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting aiosmtpd (Debian package python3-aiosmtpd)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd does not listen on {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The Maildir the mails land in (`new/` holds them).
    pub fn maildir(&self) -> PathBuf {
        self.maildir.path().join("mail")
    }

    /// Every mail received so far, as it arrived (headers and body), oldest first.
    pub fn messages(&self) -> Vec<String> {
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.path().join("mail").join(sub)) {
                files.extend(entries.filter_map(Result::ok).map(|e| e.path()));
            }
        }
        let mut mails: Vec<(std::time::SystemTime, String)> = files
            .into_iter()
            .filter_map(|path| {
                let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
                Some((modified, std::fs::read_to_string(&path).ok()?))
            })
            .collect();
        mails.sort_by_key(|(modified, _)| *modified);
        mails.into_iter().map(|(_, mail)| mail).collect()
    }

    /// Waits until at least `count` mails arrived and returns them all.
    pub fn wait_for(&self, count: usize, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let mails = self.messages();
            if mails.len() >= count {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {count} mails arrived within {within:?}",
                mails.len()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        let html = r#"<head><meta name="csrf-token" content="ab&amp;c"><metadata x="1"></head>
            <input type="text" id="client-name" name="name" value="Neue &quot;Firma&quot;" required>
            <script nonce="xyz">1</script><link crossorigin="xyz">"#;
        assert_eq!(meta_content(html, "csrf-token").as_deref(), Some("ab&c"));
        assert_eq!(
            input_value_by_id(html, "client-name").as_deref(),
            Some("Neue \"Firma\"")
        );
        assert_eq!(tags(html, "meta").len(), 1);
        assert!(!normalize(html).contains("xyz"));
        assert_eq!(visible("in <!>5<!> s."), "in 5 s.");
        assert_eq!(
            strip_ansi("\u{1b}[3mlink\u{1b}[0m\u{1b}[2m=\u{1b}[0mhttp://x"),
            "link=http://x"
        );
        assert_eq!(
            word_after("a link=http://x/y z", "link=").as_deref(),
            Some("http://x/y")
        );
        assert_eq!(
            cookie_value("vitrine_session=abc=; HttpOnly", SESSION_COOKIE).as_deref(),
            Some("abc=")
        );
        assert_eq!(percent_decode("%2Fclients%2Facme%3Fa%3D1+b"), "/clients/acme?a=1 b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(between("x[a]y", "[", "]"), Some("a"));
    }
}

/// One request an [`HttpRecorder`] received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A loopback HTTP server standing in for a webhook, Slack or PagerDuty: it keeps every request
/// and answers each path with the statuses queued for it (then 200).
pub struct HttpRecorder {
    addr: String,
    requests: Arc<std::sync::Mutex<Vec<Recorded>>>,
    answers: Arc<std::sync::Mutex<Vec<(String, u16)>>>,
}

impl HttpRecorder {
    pub fn start() -> HttpRecorder {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let addr = listener.local_addr().expect("its address").to_string();
        let requests: Arc<std::sync::Mutex<Vec<Recorded>>> = Arc::default();
        let answers: Arc<std::sync::Mutex<Vec<(String, u16)>>> = Arc::default();
        let (kept, queued) = (requests.clone(), answers.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let (method, path) = (
                    parts.next().unwrap_or("").to_string(),
                    parts.next().unwrap_or("").to_string(),
                );
                let mut headers = Vec::new();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':') {
                        headers.push((name.trim().to_lowercase(), value.trim().to_string()));
                    }
                }
                let length = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .and_then(|(_, v)| v.parse::<usize>().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
                let status = {
                    let mut queued = queued.lock().unwrap();
                    match queued.iter().position(|(p, _)| *p == path) {
                        Some(i) => queued.remove(i).1,
                        None => 200,
                    }
                };
                kept.lock().unwrap().push(Recorded {
                    method,
                    path,
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Answer\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                );
            }
        });
        HttpRecorder {
            addr,
            requests,
            answers,
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next request to `path` gets `status` (queued in order).
    pub fn answer(&self, path: &str, status: u16) {
        self.answers.lock().unwrap().push((path.to_string(), status));
    }

    /// Every request to `path` so far.
    pub fn to(&self, path: &str) -> Vec<Recorded> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Waits up to a minute until `path` has a request `accept` accepts; returns it.
    pub async fn wait_for(&self, path: &str, accept: impl Fn(&Recorded) -> bool) -> Recorded {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(found) = self.to(path).into_iter().find(|r| accept(r)) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no such request to {path}: {:?}",
                self.to(path)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
