//! The templates of alerting rules' labels and annotations, as Prometheus 2.42 expands them: Go's
//! `text/template` (text and `{{ … }}` actions with `-` trimming, comments, pipelines, variables,
//! `if`/`else if`/`else`, `with`, `range`, parenthesised pipelines, field chains) over the alert's
//! data (`.Labels`, `.ExternalLabels`, `.ExternalURL`, `.Value`, bound to `$labels`,
//! `$externalLabels`, `$externalURL` and `$value`), with Go's functions (`and`, `or`, `not`,
//! `eq` … `ge`, `len`, `index`, `print`, `printf`, `println`, `html`, `urlquery`) and
//! Prometheus' (`humanize`, `humanize1024`, `humanizeDuration`, `humanizePercentage`,
//! `humanizeTimestamp`, `title`, `toUpper`, `toLower`, `match`, `reReplaceAll`, `stripPort`,
//! `safeHtml`, `parseDuration`, `toTime`, and `query` with `first`, `label`, `value`,
//! `strvalue`, `sortByLabel` over its results when the caller gives a way to run queries).
//! `externalURL` and `pathPrefix` are not run (Prometheus' rules fail on them too:
//! `$externalURL` is the way): expanding a template that calls them fails.
//! A failed expansion reads, as in Prometheus, `<error expanding template: …>`.

use crate::go::format_float;
use crate::labels::Labels;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Runs a template's `query` at the alert's evaluation time: each series' labels (with its
/// metric name) and value; a number is one series without labels.
pub type QueryFn<'a> = &'a dyn Fn(&str) -> std::result::Result<Vec<(Labels, f64)>, String>;

/// What a template reads: the alert's labels and value, the server's external labels and URL,
/// and what its `query` calls run on (`None`: they fail).
pub struct AlertData<'a> {
    pub labels: &'a Labels,
    pub external_labels: &'a Labels,
    pub external_url: &'a str,
    pub value: f64,
    pub query: Option<QueryFn<'a>>,
}

/// Why a template cannot be read or run.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError(pub String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

type Result<T> = std::result::Result<T, TemplateError>;

fn error<T>(message: impl Into<String>) -> Result<T> {
    Err(TemplateError(message.into()))
}

/// Prometheus' functions besides Go's, all known to the parser.
const PROMETHEUS_FUNCTIONS: [&str; 25] = [
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "sortByLabel",
    "args",
    "reReplaceAll",
    "safeHtml",
    "match",
    "title",
    "toUpper",
    "toLower",
    "graphLink",
    "tableLink",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "pathPrefix",
    "externalURL",
    "parseDuration",
    "stripPort",
];
const GO_FUNCTIONS: [&str; 17] = [
    "and", "or", "not", "len", "index", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge", "html",
    "urlquery", "slice",
];
/// Nested blocks and calls a template may have, against stack exhaustion.
const MAX_DEPTH: usize = 100;
/// Output a template may write, against runaway `range`s.
const MAX_OUTPUT: usize = 1 << 20;

/// Checks that `text` is a template Prometheus would accept (as `promtool check rules` does).
pub fn check(text: &str) -> Result<()> {
    parse(text).map(|_| ())
}

/// Expands `text` for an alert; the error as Prometheus writes it into the label or annotation.
pub fn expand_or_error(text: &str, data: &AlertData<'_>) -> String {
    expand(text, data).unwrap_or_else(|e| format!("<error expanding template: {e}>"))
}

/// Expands `text` for an alert.
pub fn expand(text: &str, data: &AlertData<'_>) -> Result<String> {
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    let nodes = parse(text)?;
    let map = |labels: &Labels| {
        Value::Map(
            labels
                .iter()
                .map(|(n, v)| (n.to_string(), Value::Str(v.to_string())))
                .collect(),
        )
    };
    let root = Value::Object(BTreeMap::from([
        ("Labels".to_string(), map(data.labels)),
        ("ExternalLabels".to_string(), map(data.external_labels)),
        ("ExternalURL".to_string(), Value::Str(data.external_url.to_string())),
        ("Value".to_string(), Value::Float(data.value)),
    ]));
    let mut state = State {
        vars: vec![
            ("$".to_string(), root.clone()),
            ("$labels".to_string(), map(data.labels)),
            ("$externalLabels".to_string(), map(data.external_labels)),
            ("$externalURL".to_string(), Value::Str(data.external_url.to_string())),
            ("$value".to_string(), Value::Float(data.value)),
        ],
        out: String::new(),
        depth: 0,
        query: data.query,
    };
    state.run(&nodes, &root)?;
    Ok(state.out)
}

// ---------------------------------------------------------------------------------------------
// Values

#[derive(Clone, Debug, PartialEq)]
enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A map (the labels): a missing key reads as the empty string.
    Map(BTreeMap<String, Value>),
    /// The alert's data: a missing field is an error.
    Object(BTreeMap<String, Value>),
    /// A missing map key or `nil`.
    Nil,
    /// The result of `query`: [`Value::Sample`]s.
    Samples(Vec<Value>),
    /// One series of a query's result: its labels (with `__name__`) and value.
    Sample(BTreeMap<String, Value>, f64),
}

impl Value {
    fn truthy(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Bool(b) => *b,
            Value::Map(m) | Value::Object(m) => !m.is_empty(),
            Value::Nil => false,
            Value::Samples(v) => !v.is_empty(),
            Value::Sample(..) => true,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Bool(_) => "bool",
            Value::Map(_) => "map[string]string",
            Value::Object(_) => "template.AlertTemplateData",
            Value::Nil => "<nil>",
            Value::Samples(_) => "template.queryResult",
            Value::Sample(..) => "*template.sample",
        }
    }

    /// `fmt.Sprint` of the value.
    fn print(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Bool(b) => b.to_string(),
            Value::Map(m) | Value::Object(m) => {
                let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{}", v.print())).collect();
                format!("map[{}]", inner.join(" "))
            }
            Value::Nil => "<no value>".to_string(),
            Value::Samples(v) => format!("[{}]", v.iter().map(Value::print).collect::<Vec<_>>().join(" ")),
            Value::Sample(labels, value) => {
                let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}:{}", v.print())).collect();
                format!("&{{map[{}] {}}}", inner.join(" "), format_float(*value))
            }
        }
    }

    /// Prometheus' `convertToFloat`: floats, integers and strings that parse.
    fn to_float(&self) -> Result<f64> {
        match self {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            Value::Str(s) => crate::go::parse_number(s)
                .map_err(|_| TemplateError(format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))),
            other => error(format!("can't convert {} to float", other.type_name())),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lexing and parsing

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    /// `.` (empty) or `.A.B`.
    Field(Vec<String>),
    /// `$x` with a field chain.
    Var(String, Vec<String>),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    Pipe,
    Open,
    Close,
    Declare,
    Assign,
    Comma,
}

#[derive(Clone, Debug)]
enum Arg {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Const(Value),
    Func(String),
    Pipeline(Box<Pipeline>),
}

#[derive(Clone, Debug)]
struct Pipeline {
    /// Variables declared (`:=`) or assigned (`=`).
    vars: Vec<String>,
    assign: bool,
    commands: Vec<Vec<Arg>>,
}

#[derive(Clone, Debug)]
enum Node {
    Text(String),
    Action(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
}

/// One `{{ … }}` action's tokens, or text between them.
enum Piece {
    Text(String),
    Action(Vec<Token>),
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn lex_action(src: &str) -> Result<(Vec<Token>, usize, bool)> {
    // Returns the tokens, the bytes read up to and including `}}`, and whether `-}}` trims.
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = src[i..].chars().next().unwrap_or(' ');
        if src[i..].starts_with("}}") {
            return Ok((tokens, i + 2, false));
        }
        if src[i..].starts_with(" -}}") || src[i..].starts_with("\t-}}") || src[i..].starts_with("\n-}}") {
            return Ok((tokens, i + 4, true));
        }
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        match c {
            '|' => {
                tokens.push(Token::Pipe);
                i += 1;
            }
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            ':' if src[i..].starts_with(":=") => {
                tokens.push(Token::Declare);
                i += 2;
            }
            '=' => {
                tokens.push(Token::Assign);
                i += 1;
            }
            '"' => {
                let mut j = i + 1;
                let mut escaped = false;
                while j < bytes.len() {
                    match bytes[j] {
                        b'\\' if !escaped => escaped = true,
                        b'"' if !escaped => break,
                        b'\n' => return error("unterminated quoted string"),
                        _ => escaped = false,
                    }
                    j += 1;
                }
                if j >= bytes.len() {
                    return error("unterminated quoted string");
                }
                let literal = &src[i..=j];
                let value: String = serde_json::from_str(literal)
                    .map_err(|_| TemplateError(format!("invalid syntax in string {literal}")))?;
                tokens.push(Token::Str(value));
                i = j + 1;
            }
            '`' => {
                let end = src[i + 1..]
                    .find('`')
                    .ok_or_else(|| TemplateError("unterminated raw quoted string".into()))?;
                tokens.push(Token::Str(src[i + 1..i + 1 + end].to_string()));
                i += end + 2;
            }
            '.' | '$' => {
                let start = i;
                i += 1;
                while i < bytes.len() && (is_ident_char(src[i..].chars().next().unwrap_or(' ')) || bytes[i] == b'.') {
                    i += src[i..].chars().next().map_or(1, char::len_utf8);
                }
                let word = &src[start..i];
                let (head, chain) = if c == '$' {
                    match word.find('.') {
                        Some(dot) => (&word[..dot], &word[dot..]),
                        None => (word, ""),
                    }
                } else {
                    ("", word)
                };
                let fields: Vec<String> = chain
                    .split('.')
                    .skip(1)
                    .filter(|f| !f.is_empty())
                    .map(str::to_string)
                    .collect();
                if c == '$' {
                    tokens.push(Token::Var(head.to_string(), fields));
                } else {
                    tokens.push(Token::Field(fields));
                }
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' => {
                let start = i;
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'.' | b'_' | b'+' | b'-'))
                {
                    // A sign only right after an exponent.
                    if matches!(bytes[i], b'+' | b'-') && !matches!(bytes[i - 1], b'e' | b'E') {
                        break;
                    }
                    i += 1;
                }
                let word = &src[start..i];
                if let Ok(n) = word.parse::<i64>() {
                    tokens.push(Token::Int(n));
                } else if let Ok(f) = word.parse::<f64>() {
                    tokens.push(Token::Float(f));
                } else {
                    return error(format!("bad number syntax: {word:?}"));
                }
            }
            c if is_ident_char(c) => {
                let start = i;
                while i < bytes.len() && is_ident_char(src[i..].chars().next().unwrap_or(' ')) {
                    i += src[i..].chars().next().map_or(1, char::len_utf8);
                }
                tokens.push(match &src[start..i] {
                    "true" => Token::Bool(true),
                    "false" => Token::Bool(false),
                    "nil" => Token::Nil,
                    word => Token::Ident(word.to_string()),
                });
            }
            other => return error(format!("unexpected {other:?} in command")),
        }
    }
    error("unclosed action")
}

/// Splits the text into text and actions, applying `{{-` and `-}}` and dropping comments.
fn pieces(text: &str) -> Result<Vec<Piece>> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut trim_next = false;
    while let Some(at) = rest.find("{{") {
        let mut before = &rest[..at];
        if trim_next {
            before = before.trim_start();
        }
        let mut inner = &rest[at + 2..];
        let trim_before = inner.starts_with("- ") || inner.starts_with("-\t") || inner.starts_with("-\n");
        if trim_before {
            before = before.trim_end();
            inner = &inner[1..];
        }
        if !before.is_empty() {
            out.push(Piece::Text(before.to_string()));
        }
        let trimmed = inner.trim_start();
        if trimmed.starts_with("/*") {
            let end = trimmed
                .find("*/")
                .ok_or_else(|| TemplateError("unclosed comment".into()))?;
            let after = &trimmed[end + 2..];
            let (after, trims) = if let Some(a) = after.strip_prefix(" -}}") {
                (a, true)
            } else if let Some(a) = after.strip_prefix("}}") {
                (a, false)
            } else {
                return error("comment ends before closing delimiter");
            };
            trim_next = trims;
            rest = after;
            continue;
        }
        let (tokens, used, trims) = lex_action(inner)?;
        out.push(Piece::Action(tokens));
        trim_next = trims;
        rest = &inner[used..];
    }
    let last = if trim_next { rest.trim_start() } else { rest };
    if !last.is_empty() {
        out.push(Piece::Text(last.to_string()));
    }
    Ok(out)
}

struct Parser {
    pieces: std::vec::IntoIter<Piece>,
    depth: usize,
}

/// How a list of nodes ended.
enum Ending {
    Eof,
    End,
    Else(Vec<Token>),
}

fn parse(text: &str) -> Result<Vec<Node>> {
    let mut parser = Parser {
        pieces: pieces(text)?.into_iter(),
        depth: 0,
    };
    let (nodes, end) = parser.list()?;
    match end {
        Ending::Eof => Ok(nodes),
        Ending::End => error("unexpected {{end}}"),
        Ending::Else(_) => error("unexpected {{else}}"),
    }
}

impl Parser {
    fn list(&mut self) -> Result<(Vec<Node>, Ending)> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return error("too deeply nested");
        }
        let mut nodes = Vec::new();
        let end = loop {
            let Some(piece) = self.pieces.next() else {
                break Ending::Eof;
            };
            let tokens = match piece {
                Piece::Text(text) => {
                    nodes.push(Node::Text(text));
                    continue;
                }
                Piece::Action(tokens) => tokens,
            };
            match tokens.first() {
                Some(Token::Ident(word)) if word == "end" => {
                    if tokens.len() > 1 {
                        return error("unexpected token in end");
                    }
                    break Ending::End;
                }
                Some(Token::Ident(word)) if word == "else" => break Ending::Else(tokens[1..].to_vec()),
                Some(Token::Ident(word)) if matches!(word.as_str(), "if" | "with" | "range") => {
                    let word = word.clone();
                    let node = self.control(&word, &tokens[1..])?;
                    nodes.push(node);
                }
                Some(Token::Ident(word))
                    if matches!(word.as_str(), "define" | "template" | "block" | "break" | "continue") =>
                {
                    return error(format!("{{{{{word}}}}} is not supported in alert templates"));
                }
                None => return error("missing value for command"),
                _ => nodes.push(Node::Action(pipeline(&tokens)?)),
            }
        };
        self.depth -= 1;
        Ok((nodes, end))
    }

    /// `if`, `with` or `range` after its keyword, through its `end` (an `else if` nests).
    fn control(&mut self, word: &str, tokens: &[Token]) -> Result<Node> {
        let pipe = pipeline(tokens)?;
        let (body, end) = self.list()?;
        let otherwise = match end {
            Ending::Eof => return error(format!("unexpected EOF: {word} without end")),
            Ending::End => Vec::new(),
            Ending::Else(rest) if rest.is_empty() => match self.list()? {
                (nodes, Ending::End) => nodes,
                _ => return error(format!("expected end after else of {word}")),
            },
            Ending::Else(rest) => match rest.first() {
                // `else if …` / `else with …`: the rest of the chain shares the one `end`.
                Some(Token::Ident(w)) if w == word && word != "range" => vec![self.control(word, &rest[1..])?],
                _ => return error("unexpected tokens after else"),
            },
        };
        Ok(match word {
            "if" => Node::If(pipe, body, otherwise),
            "with" => Node::With(pipe, body, otherwise),
            _ => Node::Range(pipe, body, otherwise),
        })
    }
}

fn pipeline(tokens: &[Token]) -> Result<Pipeline> {
    let mut rest = tokens;
    let mut vars = Vec::new();
    let mut assign = false;
    // `$x :=`, `$x =`, `$k, $v :=`
    let mut probe = 0;
    let mut names = Vec::new();
    while let Some(Token::Var(name, fields)) = rest.get(probe) {
        if !fields.is_empty() {
            break;
        }
        names.push(name.clone());
        match rest.get(probe + 1) {
            Some(Token::Comma) => probe += 2,
            Some(Token::Declare | Token::Assign) => {
                assign = rest.get(probe + 1) == Some(&Token::Assign);
                vars = names.clone();
                rest = &rest[probe + 2..];
                break;
            }
            _ => break,
        }
    }
    let mut commands = Vec::new();
    let mut i = 0;
    let mut current = Vec::new();
    while i < rest.len() {
        match &rest[i] {
            Token::Pipe => {
                if current.is_empty() {
                    return error("missing command before |");
                }
                commands.push(std::mem::take(&mut current));
            }
            Token::Open => {
                let mut depth = 1;
                let mut j = i + 1;
                while j < rest.len() && depth > 0 {
                    match rest[j] {
                        Token::Open => depth += 1,
                        Token::Close => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                if depth != 0 {
                    return error("unclosed left paren");
                }
                current.push(Arg::Pipeline(Box::new(pipeline(&rest[i + 1..j - 1])?)));
                i = j;
                continue;
            }
            Token::Close => return error("unexpected right paren"),
            Token::Comma | Token::Declare | Token::Assign => return error("unexpected token in command"),
            Token::Ident(name) => {
                if !GO_FUNCTIONS.contains(&name.as_str()) && !PROMETHEUS_FUNCTIONS.contains(&name.as_str()) {
                    return error(format!("function {name:?} not defined"));
                }
                current.push(Arg::Func(name.clone()));
            }
            Token::Field(fields) => current.push(Arg::Field(fields.clone())),
            Token::Var(name, fields) => current.push(Arg::Var(name.clone(), fields.clone())),
            Token::Str(s) => current.push(Arg::Const(Value::Str(s.clone()))),
            Token::Int(n) => current.push(Arg::Const(Value::Int(*n))),
            Token::Float(f) => current.push(Arg::Const(Value::Float(*f))),
            Token::Bool(b) => current.push(Arg::Const(Value::Bool(*b))),
            Token::Nil => current.push(Arg::Const(Value::Nil)),
        }
        i += 1;
    }
    if current.is_empty() {
        return error("missing value for command");
    }
    commands.push(current);
    Ok(Pipeline { vars, assign, commands })
}

// ---------------------------------------------------------------------------------------------
// Execution

struct State<'a> {
    vars: Vec<(String, Value)>,
    out: String,
    depth: usize,
    query: Option<QueryFn<'a>>,
}

impl State<'_> {
    fn run(&mut self, nodes: &[Node], dot: &Value) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return error("exceeded maximum template depth");
        }
        for node in nodes {
            if self.out.len() > MAX_OUTPUT {
                return error("the expansion is too long");
            }
            match node {
                Node::Text(text) => self.out.push_str(text),
                Node::Action(pipe) => {
                    let value = self.pipeline(pipe, dot)?;
                    if pipe.vars.is_empty() {
                        self.out.push_str(&value.print());
                    }
                }
                Node::If(pipe, body, otherwise) | Node::With(pipe, body, otherwise) => {
                    let scope = self.vars.len();
                    let value = self.pipeline(pipe, dot)?;
                    let result = match (node, value.truthy()) {
                        (Node::With(..), true) => self.run(body, &value),
                        (_, true) => self.run(body, dot),
                        (_, false) => self.run(otherwise, dot),
                    };
                    self.vars.truncate(scope);
                    result?;
                }
                Node::Range(pipe, body, otherwise) => {
                    let scope = self.vars.len();
                    let names = pipe.vars.clone();
                    let bare = Pipeline {
                        vars: Vec::new(),
                        assign: false,
                        commands: pipe.commands.clone(),
                    };
                    let value = self.pipeline(&bare, dot)?;
                    let items: Vec<(Value, Value)> = match value {
                        Value::Map(m) | Value::Object(m) => m.into_iter().map(|(k, v)| (Value::Str(k), v)).collect(),
                        Value::Samples(v) => v
                            .into_iter()
                            .enumerate()
                            .map(|(i, s)| (Value::Int(i as i64), s))
                            .collect(),
                        Value::Nil => Vec::new(),
                        Value::Int(n) => (0..n.max(0)).map(|i| (Value::Int(i), Value::Int(i))).collect(),
                        other => return error(format!("range can't iterate over {}", other.print())),
                    };
                    if items.is_empty() {
                        self.run(otherwise, dot)?;
                    }
                    for (key, item) in items {
                        match names.as_slice() {
                            [] => {}
                            [v] => self.vars.push((v.clone(), item.clone())),
                            [k, v] => {
                                self.vars.push((k.clone(), key));
                                self.vars.push((v.clone(), item.clone()));
                            }
                            _ => return error("too many declarations in range"),
                        }
                        self.run(body, &item)?;
                        self.vars.truncate(scope);
                    }
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn var(&self, name: &str) -> Result<Value> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| TemplateError(format!("undefined variable {name:?}")))
    }

    fn pipeline(&mut self, pipe: &Pipeline, dot: &Value) -> Result<Value> {
        let mut value: Option<Value> = None;
        for command in &pipe.commands {
            value = Some(self.command(command, dot, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        match (pipe.vars.as_slice(), pipe.assign) {
            ([], _) => {}
            ([name], false) => self.vars.push((name.clone(), value.clone())),
            ([name], true) => {
                let slot = self
                    .vars
                    .iter_mut()
                    .rev()
                    .find(|(n, _)| n == name)
                    .ok_or_else(|| TemplateError(format!("undefined variable {name:?}")))?;
                slot.1 = value.clone();
            }
            // `$k, $v :=` outside range: Go refuses it at parse time.
            _ => return error("too many declarations in command"),
        }
        Ok(value)
    }

    fn command(&mut self, args: &[Arg], dot: &Value, piped: Option<Value>) -> Result<Value> {
        let (first, rest) = args
            .split_first()
            .ok_or_else(|| TemplateError("empty command".into()))?;
        if let Arg::Func(name) = first {
            return self.call(name, rest, dot, piped);
        }
        if !rest.is_empty() || piped.is_some() {
            return error(format!("can't give argument to non-function {}", describe(first)));
        }
        self.arg(first, dot)
    }

    fn arg(&mut self, arg: &Arg, dot: &Value) -> Result<Value> {
        match arg {
            Arg::Const(v) => Ok(v.clone()),
            Arg::Field(fields) => fields.iter().try_fold(dot.clone(), |v, f| field(&v, f)),
            Arg::Var(name, fields) => {
                let start = self.var(name)?;
                fields.iter().try_fold(start, |v, f| field(&v, f))
            }
            Arg::Pipeline(pipe) => {
                let scope = self.vars.len();
                let value = self.pipeline(pipe, dot);
                self.vars.truncate(scope);
                value
            }
            Arg::Func(name) => self.call(name, &[], dot, None),
        }
    }

    fn call(&mut self, name: &str, args: &[Arg], dot: &Value, piped: Option<Value>) -> Result<Value> {
        // `and` and `or` evaluate their arguments only as far as needed.
        if name == "and" || name == "or" {
            let mut last = Value::Nil;
            let count = args.len() + usize::from(piped.is_some());
            if count == 0 {
                return error(format!("wrong number of args for {name}: want at least 1 got 0"));
            }
            for arg in args {
                last = self.arg(arg, dot)?;
                if last.truthy() == (name == "or") {
                    return Ok(last);
                }
            }
            return Ok(piped.unwrap_or(last));
        }
        let mut values = Vec::with_capacity(args.len() + 1);
        for arg in args {
            values.push(self.arg(arg, dot)?);
        }
        values.extend(piped);
        if name == "query" {
            return self.run_query(&values);
        }
        function(name, &values)
    }

    /// `query`: runs the expression at the alert's time.
    fn run_query(&self, values: &[Value]) -> Result<Value> {
        want("query", values, 1)?;
        let text = string_arg("query", &values[0])?;
        let Some(query) = self.query else {
            return error("error calling query: queries are not run here");
        };
        let samples = query(&text).map_err(|e| TemplateError(format!("error calling query: {e}")))?;
        Ok(Value::Samples(
            samples
                .into_iter()
                .map(|(labels, value)| {
                    let labels = labels
                        .iter()
                        .map(|(n, v)| (n.to_string(), Value::Str(v.to_string())))
                        .collect();
                    Value::Sample(labels, value)
                })
                .collect(),
        ))
    }
}

fn describe(arg: &Arg) -> String {
    match arg {
        Arg::Const(v) => v.print(),
        Arg::Field(f) => format!(".{}", f.join(".")),
        Arg::Var(n, f) if f.is_empty() => n.clone(),
        Arg::Var(n, f) => format!("{n}.{}", f.join(".")),
        Arg::Func(n) => n.clone(),
        Arg::Pipeline(_) => "(…)".into(),
    }
}

fn field(value: &Value, name: &str) -> Result<Value> {
    match value {
        // A missing label reads as the empty string, as in Prometheus.
        Value::Map(m) => Ok(m.get(name).cloned().unwrap_or(Value::Str(String::new()))),
        Value::Object(m) => m
            .get(name)
            .cloned()
            .ok_or_else(|| TemplateError(format!("can't evaluate field {name} in type {}", value.type_name()))),
        Value::Nil => Ok(Value::Nil),
        Value::Sample(labels, _) if name == "Labels" => Ok(Value::Map(labels.clone())),
        Value::Sample(_, value) if name == "Value" => Ok(Value::Float(*value)),
        other => error(format!("can't evaluate field {name} in type {}", other.type_name())),
    }
}

fn sample_arg(name: &str, value: &Value) -> Result<(BTreeMap<String, Value>, f64)> {
    match value {
        Value::Sample(labels, v) => Ok((labels.clone(), *v)),
        other => error(format!(
            "wrong type for value; expected *template.sample; got {} (in {name})",
            other.type_name()
        )),
    }
}

fn samples_arg(name: &str, value: &Value) -> Result<Vec<Value>> {
    match value {
        Value::Samples(v) => Ok(v.clone()),
        other => error(format!(
            "wrong type for value; expected template.queryResult; got {} (in {name})",
            other.type_name()
        )),
    }
}

fn want(name: &str, values: &[Value], count: usize) -> Result<()> {
    if values.len() == count {
        Ok(())
    } else {
        error(format!(
            "wrong number of args for {name}: want {count} got {}",
            values.len()
        ))
    }
}

fn string_arg(name: &str, value: &Value) -> Result<String> {
    match value {
        Value::Str(s) => Ok(s.clone()),
        other => error(format!(
            "wrong type for value; expected string; got {} (in {name})",
            other.type_name()
        )),
    }
}

/// How two values compare, for `eq` … `ge`: only values of one basic kind compare.
fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering> {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(x.cmp(y)),
        (Value::Int(x), Value::Int(y)) => Ok(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => Ok(x.partial_cmp(y).unwrap_or(Ordering::Less)),
        (Value::Bool(x), Value::Bool(y)) => Ok(x.cmp(y)),
        _ => error("incompatible types for comparison"),
    }
}

fn function(name: &str, v: &[Value]) -> Result<Value> {
    let float = |i: usize| v[i].to_float();
    let text = |s: String| Ok(Value::Str(s));
    match name {
        "not" => {
            want(name, v, 1)?;
            Ok(Value::Bool(!v[0].truthy()))
        }
        "len" => {
            want(name, v, 1)?;
            match &v[0] {
                Value::Str(s) => Ok(Value::Int(s.len() as i64)),
                Value::Map(m) | Value::Object(m) => Ok(Value::Int(m.len() as i64)),
                Value::Samples(v) => Ok(Value::Int(v.len() as i64)),
                other => error(format!("len of type {}", other.type_name())),
            }
        }
        "index" => {
            let (target, keys) = v
                .split_first()
                .ok_or_else(|| TemplateError("wrong number of args for index: want at least 1 got 0".into()))?;
            keys.iter()
                .try_fold(target.clone(), |current, key| match (&current, key) {
                    (Value::Map(m), Value::Str(k)) => Ok(m.get(k).cloned().unwrap_or(Value::Str(String::new()))),
                    (Value::Samples(list), Value::Int(i)) => usize::try_from(*i)
                        .ok()
                        .and_then(|i| list.get(i).cloned())
                        .ok_or_else(|| TemplateError(format!("error calling index: index out of range: {i}"))),
                    _ => error(format!("can't index item of type {}", current.type_name())),
                })
        }
        "print" => text(go_sprint(v)),
        "println" => text(format!(
            "{}\n",
            v.iter().map(Value::print).collect::<Vec<_>>().join(" ")
        )),
        "printf" => {
            let (format, rest) = v
                .split_first()
                .ok_or_else(|| TemplateError("wrong number of args for printf: want at least 1 got 0".into()))?;
            text(sprintf(&string_arg(name, format)?, rest))
        }
        "eq" => {
            if v.len() < 2 {
                return error("missing argument for comparison");
            }
            for other in &v[1..] {
                if compare(&v[0], other)? == std::cmp::Ordering::Equal {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        "ne" | "lt" | "le" | "gt" | "ge" => {
            want(name, v, 2)?;
            let order = compare(&v[0], &v[1])?;
            use std::cmp::Ordering::*;
            Ok(Value::Bool(match name {
                "ne" => order != Equal,
                "lt" => order == Less,
                "le" => order != Greater,
                "gt" => order == Greater,
                _ => order != Less,
            }))
        }
        "html" => text(html_escape(&go_sprint(v))),
        "urlquery" => text(query_escape(&go_sprint(v))),
        "safeHtml" => {
            want(name, v, 1)?;
            text(string_arg(name, &v[0])?)
        }
        "title" => {
            want(name, v, 1)?;
            text(go_title(&string_arg(name, &v[0])?))
        }
        "toUpper" => {
            want(name, v, 1)?;
            text(string_arg(name, &v[0])?.to_uppercase())
        }
        "toLower" => {
            want(name, v, 1)?;
            text(string_arg(name, &v[0])?.to_lowercase())
        }
        "match" => {
            want(name, v, 2)?;
            let re = go_regex(&string_arg(name, &v[0])?)?;
            Ok(Value::Bool(re.is_match(&string_arg(name, &v[1])?)))
        }
        "reReplaceAll" => {
            want(name, v, 3)?;
            let re = go_regex(&string_arg(name, &v[0])?)?;
            let (replacement, input) = (string_arg(name, &v[1])?, string_arg(name, &v[2])?);
            let mut out = String::new();
            let mut last = 0;
            for caps in re.captures_iter(&input) {
                let whole = caps.get(0).expect("the whole match");
                out.push_str(&input[last..whole.start()]);
                out.push_str(&crate::eval::functions::go_expand(&re, &replacement, &input, &caps));
                last = whole.end();
            }
            out.push_str(&input[last..]);
            text(out)
        }
        "stripPort" => {
            want(name, v, 1)?;
            let host = string_arg(name, &v[0])?;
            text(split_host_port(&host).unwrap_or(host))
        }
        "parseDuration" => {
            want(name, v, 1)?;
            let ms = crate::parser::parse_duration(&string_arg(name, &v[0])?).map_err(TemplateError)?;
            Ok(Value::Float(ms as f64 / 1000.0))
        }
        "humanize" => {
            want(name, v, 1)?;
            text(humanize(float(0)?))
        }
        "humanize1024" => {
            want(name, v, 1)?;
            text(humanize1024(float(0)?))
        }
        "humanizeDuration" => {
            want(name, v, 1)?;
            text(humanize_duration(float(0)?))
        }
        "humanizePercentage" => {
            want(name, v, 1)?;
            text(format!("{}%", go_g(float(0)? * 100.0, 4)))
        }
        "humanizeTimestamp" => {
            want(name, v, 1)?;
            text(go_time(float(0)?)?)
        }
        "toTime" => {
            want(name, v, 1)?;
            text(go_time(float(0)?)?)
        }
        "first" => {
            want(name, v, 1)?;
            samples_arg(name, &v[0])?
                .into_iter()
                .next()
                .ok_or_else(|| TemplateError("error calling first: first() called on vector with no elements".into()))
        }
        "label" => {
            want(name, v, 2)?;
            let label = string_arg(name, &v[0])?;
            let (labels, _) = sample_arg(name, &v[1])?;
            Ok(labels.get(&label).cloned().unwrap_or(Value::Str(String::new())))
        }
        "value" => {
            want(name, v, 1)?;
            Ok(Value::Float(sample_arg(name, &v[0])?.1))
        }
        "strvalue" => {
            want(name, v, 1)?;
            let (labels, _) = sample_arg(name, &v[0])?;
            Ok(labels.get("__value__").cloned().unwrap_or(Value::Str(String::new())))
        }
        "sortByLabel" => {
            want(name, v, 2)?;
            let label = string_arg(name, &v[0])?;
            let mut list = samples_arg(name, &v[1])?;
            let key = |s: &Value| match s {
                Value::Sample(labels, _) => labels.get(&label).map(Value::print).unwrap_or_default(),
                _ => String::new(),
            };
            list.sort_by_key(key);
            Ok(Value::Samples(list))
        }
        "args" => Ok(Value::Map(
            v.iter()
                .enumerate()
                .map(|(i, value)| (format!("arg{i}"), value.clone()))
                .collect(),
        )),
        other => error(format!(
            "the function {other} is not available in Vitrine's alert templates"
        )),
    }
}

/// `fmt.Sprint`: spaces only between operands when neither is a string.
fn go_sprint(v: &[Value]) -> String {
    let mut out = String::new();
    for (i, value) in v.iter().enumerate() {
        let is_str = |x: &Value| matches!(x, Value::Str(_));
        if i > 0 && !is_str(value) && !is_str(&v[i - 1]) {
            out.push(' ');
        }
        out.push_str(&value.print());
    }
    out
}

fn go_regex(pattern: &str) -> Result<regex::Regex> {
    regex::Regex::new(&vitrine_goregex::translate(pattern))
        .map_err(|e| TemplateError(format!("error parsing regexp: {e}")))
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Go's deprecated `strings.Title`: the first letter of every word in upper case.
fn go_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut previous: Option<char> = None;
    for c in s.chars() {
        let boundary = previous.is_none_or(|p| !(p.is_alphanumeric() || p == '_'));
        if boundary {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        previous = Some(c);
    }
    out
}

/// Go's `net.SplitHostPort`'s host, when the text has a port.
fn split_host_port(s: &str) -> Option<String> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return after.strip_prefix(':').map(|_| host.to_string());
    }
    let (host, _) = s.rsplit_once(':')?;
    (!host.contains(':')).then(|| host.to_string())
}

/// Go's `%.{prec}g`.
fn go_g(v: f64, prec: usize) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let prec = prec.max(1);
    let e = format!("{:.*e}", prec - 1, v);
    let (mantissa, exp) = e.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    let trim = |s: &str| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= prec as i32 {
        format!("{}e{}{:02}", trim(mantissa), if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim(&format!("{v:.decimals$}"))
    }
}

/// Go's `%e` with a precision.
fn go_e(v: f64, prec: usize) -> String {
    if !v.is_finite() {
        return go_g(v, 1);
    }
    let e = format!("{v:.prec$e}");
    let (mantissa, exp) = e.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

fn humanize(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return go_g(v, 4);
    }
    let mut v = v;
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", go_g(v, 4))
}

fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return go_g(v, 4);
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", go_g(v, 4))
}

fn humanize_duration(v: f64) -> String {
    if !v.is_finite() {
        return go_g(v, 4);
    }
    if v == 0.0 {
        return format!("{}s", go_g(v, 4));
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        let duration = v as i64;
        let (seconds, minutes, hours, days) = (
            duration % 60,
            (duration / 60) % 60,
            (duration / 3600) % 24,
            duration / 86_400,
        );
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", go_g(v, 4))
        };
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", go_g(v, 4))
}

/// Go's `fmt.Sprint` of `time.Unix(…).UTC()`: `2006-01-02 15:04:05.999999999 +0000 UTC`.
fn go_time(seconds: f64) -> Result<String> {
    if !seconds.is_finite() || seconds.abs() > 9.2e9 {
        return error(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            go_g(seconds, 6)
        ));
    }
    // As Prometheus: through model.TimeFromUnixNano, whole milliseconds.
    let millis = ((seconds * 1e9) as i64) / 1_000_000;
    let nanos = i128::from(millis) * 1_000_000;
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|e| TemplateError(e.to_string()))?;
    let mut out = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let fraction = t.nanosecond();
    if fraction != 0 {
        out.push('.');
        out.push_str(format!("{fraction:09}").trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    Ok(out)
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%v %s %d %f %F %e %E %g %G %q %t %x %X %%`,
/// with flags `-+ 0`, a width and a precision; a mismatch prints as Go does (`%!d(string=x)`).
fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut minus, mut plus, mut zero, mut space) = (false, false, false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' => space = true,
                '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut digits = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(d);
                chars.next();
            }
            precision = Some(digits.parse().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next += 1;
        let bad = || format!("%!{verb}({}={})", arg.type_name(), arg.print());
        let sign = |s: String, negative: bool| {
            if negative {
                s
            } else if plus {
                format!("+{s}")
            } else if space {
                format!(" {s}")
            } else {
                s
            }
        };
        let body = match (verb, arg) {
            ('v', _) => arg.print(),
            ('s', Value::Str(s)) => match precision {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            },
            ('s', Value::Float(_) | Value::Int(_) | Value::Bool(_)) => bad(),
            ('s', _) => arg.print(),
            ('q', Value::Str(s)) => serde_json::to_string(s).unwrap_or_default(),
            ('t', Value::Bool(b)) => b.to_string(),
            ('d', Value::Int(i)) => sign(i.to_string(), *i < 0),
            ('x', Value::Int(i)) => format!("{i:x}"),
            ('X', Value::Int(i)) => format!("{i:X}"),
            ('x', Value::Str(s)) => hex_of(s, false),
            ('X', Value::Str(s)) => hex_of(s, true),
            ('f' | 'F', Value::Float(f)) if f.is_finite() => {
                sign(format!("{:.*}", precision.unwrap_or(6), f), *f < 0.0)
            }
            ('e' | 'E', Value::Float(f)) => {
                let e = go_e(*f, precision.unwrap_or(6));
                sign(if verb == 'E' { e.to_uppercase() } else { e }, *f < 0.0)
            }
            ('g' | 'G', Value::Float(f)) => {
                let g = match precision {
                    Some(p) => go_g(*f, p),
                    None => format_float(*f),
                };
                sign(if verb == 'G' { g.to_uppercase() } else { g }, *f < 0.0)
            }
            ('f' | 'F', Value::Float(f)) => sign(go_g(*f, 1), *f < 0.0),
            _ => bad(),
        };
        let width: usize = width.parse().unwrap_or(0);
        let len = body.chars().count();
        if len >= width {
            out.push_str(&body);
        } else if minus {
            out.push_str(&body);
            out.extend(std::iter::repeat_n(' ', width - len));
        } else if zero && matches!(arg, Value::Int(_) | Value::Float(_)) {
            let (sign_part, digits) = match body.strip_prefix(['-', '+']) {
                Some(rest) => (&body[..1], rest),
                None => ("", body.as_str()),
            };
            out.push_str(sign_part);
            out.extend(std::iter::repeat_n('0', width - len));
            out.push_str(digits);
        } else {
            out.extend(std::iter::repeat_n(' ', width - len));
            out.push_str(&body);
        }
    }
    if next < args.len() {
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|a| format!("{}={}", a.type_name(), a.print()))
            .collect();
        let _ = write!(out, "%!(EXTRA {})", extra.join(", "));
    }
    out
}

fn hex_of(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| if upper { format!("{b:02X}") } else { format!("{b:02x}") })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, value: f64) -> String {
        let labels = Labels::from_pairs(&[("instance", "shop:9100"), ("job", "shop"), ("severity", "critical")]);
        let external = Labels::from_pairs(&[("region", "eu")]);
        let data = AlertData {
            labels: &labels,
            external_labels: &external,
            external_url: "https://vitrine.example/portal",
            value,
            query: None,
        };
        expand_or_error(text, &data)
    }

    #[test]
    fn query_runs_and_its_results_read_through_first_label_value_and_range() {
        let labels = Labels::empty();
        let run_query = |q: &str| -> std::result::Result<Vec<(Labels, f64)>, String> {
            match q {
                "up" => Ok(vec![
                    (Labels::from_pairs(&[("__name__", "up"), ("instance", "b")]), 0.0),
                    (Labels::from_pairs(&[("__name__", "up"), ("instance", "a")]), 1.0),
                ]),
                "none" => Ok(vec![]),
                _ => Err("parse error".into()),
            }
        };
        let data = AlertData {
            labels: &labels,
            external_labels: &labels,
            external_url: "",
            value: 0.0,
            query: Some(&run_query),
        };
        let expand = |text: &str| expand_or_error(text, &data);
        assert_eq!(expand(r#"{{ query "up" | first | value }}"#), "0");
        assert_eq!(expand(r#"{{ query "up" | first | label "instance" }}"#), "b");
        assert_eq!(
            expand(r#"{{ range query "up" | sortByLabel "instance" }}{{ .Labels.instance }}={{ .Value }} {{ end }}"#),
            "a=1 b=0 "
        );
        assert_eq!(
            expand(r#"{{ with query "none" }}{{ . }}{{ else }}nothing{{ end }}"#),
            "nothing"
        );
        assert_eq!(expand(r#"{{ len (query "up") }}"#), "2");
        assert!(expand(r#"{{ query "none" | first }}"#).contains("first() called on vector with no elements"));
        assert!(expand(r#"{{ query "bad" }}"#).contains("error calling query: parse error"));
        // Without a way to run queries, `query` fails.
        assert!(run(r#"{{ query "up" }}"#, 0.0).starts_with("<error expanding template:"));
    }

    #[test]
    fn labels_values_and_variables_read_as_in_prometheus() {
        assert_eq!(run("{{ $labels.instance }} is down", 0.0), "shop:9100 is down");
        assert_eq!(run("{{ .Labels.job }}/{{ $externalLabels.region }}", 0.0), "shop/eu");
        assert_eq!(run("value {{ $value }}", 0.1234), "value 0.1234");
        assert_eq!(run("{{ $value }}", 1234567.0), "1.234567e+06");
        assert_eq!(
            run("{{ .Value }} {{ $externalURL }}", 3.0),
            "3 https://vitrine.example/portal"
        );
        assert_eq!(run("{{ $labels.missing }}", 0.0), "");
        assert_eq!(run("{{ $x := $labels.job }}[{{ $x }}]", 0.0), "[shop]");
        assert_eq!(run("no templates at all", 0.0), "no templates at all");
        assert_eq!(run("a  {{- $labels.job -}}  b", 0.0), "ashopb");
        assert_eq!(run("a {{/* a comment */}}b", 0.0), "a b");
    }

    #[test]
    fn prometheus_functions_format_like_go() {
        assert_eq!(run("{{ humanize 1234567 }}", 0.0), "1.235M");
        assert_eq!(run("{{ humanize 0.001234 }}", 0.0), "1.234m");
        assert_eq!(run("{{ humanize 0 }}", 0.0), "0");
        assert_eq!(run("{{ $value | humanize }}", 999.5), "999.5");
        assert_eq!(run("{{ humanize1024 1048576 }}", 0.0), "1Mi");
        assert_eq!(run("{{ humanizeDuration 3661 }}", 0.0), "1h 1m 1s");
        assert_eq!(run("{{ humanizeDuration 90061 }}", 0.0), "1d 1h 1m 1s");
        assert_eq!(run("{{ humanizeDuration 1.5 }}", 0.0), "1.5s");
        assert_eq!(run("{{ humanizeDuration 0.0015 }}", 0.0), "1.5ms");
        assert_eq!(run("{{ $value | humanizePercentage }}", 0.1234567), "12.35%");
        assert_eq!(
            run("{{ humanizeTimestamp 1435065584.128 }}", 0.0),
            "2015-06-23 13:19:44.128 +0000 UTC"
        );
        assert_eq!(run("{{ printf \"%.2f\" $value }}", 1.23456), "1.23");
        assert_eq!(run("{{ printf \"%s has %d%%\" $labels.job 5 }}", 0.0), "shop has 5%");
        assert_eq!(run("{{ printf \"%5.1f|%-4s|\" $value \"ab\" }}", 2.25), "  2.2|ab  |");
        assert_eq!(run("{{ printf \"%d\" $labels.job }}", 0.0), "%!d(string=shop)");
        assert_eq!(run("{{ $labels.instance | stripPort | toUpper }}", 0.0), "SHOP");
        assert_eq!(run("{{ title \"hello shop owner\" }}", 0.0), "Hello Shop Owner");
        assert_eq!(
            run("{{ reReplaceAll \"(.*):(.*)\" \"$2 on $1\" $labels.instance }}", 0.0),
            "9100 on shop"
        );
        assert_eq!(run("{{ if match \"^shop\" .Labels.job }}yes{{ end }}", 0.0), "yes");
        assert_eq!(run("{{ parseDuration \"1m30s\" }}", 0.0), "90");
    }

    #[test]
    fn conditions_and_ranges_follow_go() {
        let text = "{{ if gt $value 0.5 }}high{{ else if gt $value 0.1 }}some{{ else }}low{{ end }}";
        assert_eq!(run(text, 0.9), "high");
        assert_eq!(run(text, 0.2), "some");
        assert_eq!(run(text, 0.0), "low");
        assert_eq!(run("{{ with $labels.job }}job {{ . }}{{ end }}", 0.0), "job shop");
        assert_eq!(run("{{ with $labels.nope }}x{{ else }}none{{ end }}", 0.0), "none");
        assert_eq!(
            run("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", 0.0),
            "instance=shop:9100;job=shop;severity=critical;"
        );
        assert_eq!(
            run(
                "{{ if and $labels.job (eq $labels.severity \"critical\") }}page{{ end }}",
                0.0
            ),
            "page"
        );
        assert_eq!(run("{{ or $labels.nope \"fallback\" }}", 0.0), "fallback");
        assert_eq!(run("{{ len $labels }}", 0.0), "3");
        assert_eq!(run("{{ index $labels \"job\" }}", 0.0), "shop");
        // Go compares only values of one kind: a float with an integer constant is an error.
        assert!(run("{{ if gt $value 1 }}x{{ end }}", 2.0).starts_with("<error expanding template: "));
    }

    #[test]
    fn bad_templates_are_refused_with_a_reason() {
        for bad in [
            "{{ $labels.job",
            "{{ nosuchfunction 1 }}",
            "{{ if true }}open",
            "{{ end }}",
            "{{ \"unterminated }}",
            "{{ template \"x\" }}",
            "{{ (1 }}",
        ] {
            assert!(check(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(check("{{ $labels.instance }} {{ humanize $value }}").is_ok());
        // Known to Prometheus, refused when run here.
        assert!(run("{{ pathPrefix }}", 0.0).contains("not available"));
        assert!(run("{{ $undefined }}", 0.0).starts_with("<error expanding template: "));
    }
}
