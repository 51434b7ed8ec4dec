//! The PromQL lexer: a port of the state machine in Prometheus' `promql/parser/lex.go`, with
//! its context-dependent quirks (keywords are plain identifiers inside braces, any letter after
//! a range's duration reads as the subquery colon, and so on), because those quirks decide
//! which queries parse and which error is reported first.

use crate::go;

/// The kind of a lexed item, Prometheus' `ItemType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum T {
    Eof,
    Error,
    Comment,
    Identifier,
    MetricIdentifier,
    Number,
    String,
    Duration,
    LeftParen,
    RightParen,
    LeftBrace,
    RightBrace,
    LeftBracket,
    RightBracket,
    Comma,
    Eql,
    Colon,
    // Operators.
    Add,
    Div,
    Eqlc,
    EqlRegex,
    Gte,
    Gtr,
    Land,
    Lor,
    Lss,
    Lte,
    Lunless,
    Mod,
    Mul,
    Neq,
    NeqRegex,
    Pow,
    Sub,
    At,
    Atan2,
    // Aggregators.
    Avg,
    Bottomk,
    Count,
    CountValues,
    Group,
    Max,
    Min,
    Quantile,
    Stddev,
    Stdvar,
    Sum,
    Topk,
    // Keywords.
    Bool,
    By,
    GroupLeft,
    GroupRight,
    Ignoring,
    Offset,
    On,
    Without,
    // Preprocessors.
    Start,
    End,
}

impl T {
    fn is_operator(self) -> bool {
        use T::*;
        matches!(
            self,
            Add | Div
                | Eqlc
                | EqlRegex
                | Gte
                | Gtr
                | Land
                | Lor
                | Lss
                | Lte
                | Lunless
                | Mod
                | Mul
                | Neq
                | NeqRegex
                | Pow
                | Sub
                | At
                | Atan2
        )
    }

    pub(crate) fn is_aggregator(self) -> bool {
        use T::*;
        matches!(
            self,
            Avg | Bottomk | Count | CountValues | Group | Max | Min | Quantile | Stddev | Stdvar | Sum | Topk
        )
    }

    fn is_keyword(self) -> bool {
        use T::*;
        matches!(
            self,
            Bool | By | GroupLeft | GroupRight | Ignoring | Offset | On | Without
        )
    }

    /// Whether Prometheus' `ItemTypeStr` has an entry for the type, which decides how an
    /// unexpected item is described.
    fn has_type_str(self) -> bool {
        use T::*;
        !matches!(
            self,
            Eof | Error | Comment | Identifier | MetricIdentifier | Number | String | Duration | At
        )
    }

    /// The token numbers goyacc gave Prometheus 2.42's grammar; they show in one message.
    fn yacc_number(self) -> u32 {
        match self {
            T::At => 57385,
            _ => 0,
        }
    }
}

/// The keyword table (`key` in lex.go), looked up in lower case.
fn keyword(lower: &str) -> Option<T> {
    Some(match lower {
        "and" => T::Land,
        "or" => T::Lor,
        "unless" => T::Lunless,
        "atan2" => T::Atan2,
        "sum" => T::Sum,
        "avg" => T::Avg,
        "count" => T::Count,
        "min" => T::Min,
        "max" => T::Max,
        "group" => T::Group,
        "stddev" => T::Stddev,
        "stdvar" => T::Stdvar,
        "topk" => T::Topk,
        "bottomk" => T::Bottomk,
        "count_values" => T::CountValues,
        "quantile" => T::Quantile,
        "offset" => T::Offset,
        "by" => T::By,
        "without" => T::Without,
        "on" => T::On,
        "ignoring" => T::Ignoring,
        "group_left" => T::GroupLeft,
        "group_right" => T::GroupRight,
        "bool" => T::Bool,
        "start" => T::Start,
        "end" => T::End,
        "inf" | "nan" => T::Number,
        _ => return None,
    })
}

/// A lexed item: its type and byte range; an error item carries its message.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub(crate) typ: T,
    pub(crate) pos: usize,
    pub(crate) end: usize,
    pub(crate) msg: Option<String>,
}

impl Item {
    pub(crate) fn val<'a>(&self, input: &'a str) -> &'a str {
        &input[self.pos..self.end]
    }

    /// Prometheus' `Item.String()`.
    fn string(&self, input: &str) -> String {
        let val = self.val(input);
        match self.typ {
            T::Eof => "EOF".to_owned(),
            T::Error => self.msg.clone().unwrap_or_default(),
            T::Identifier | T::MetricIdentifier => go::quote(val),
            t if t.is_keyword() => format!("<{val}>"),
            t if t.is_operator() => format!("<op:{val}>"),
            t if t.is_aggregator() => format!("<aggr:{val}>"),
            _ if val.chars().count() > 10 => format!("{}...", go::quote_truncated(val, 10)),
            _ => go::quote(val),
        }
    }

    /// Prometheus' `Item.desc()`, as used in "unexpected …" messages.
    pub(crate) fn desc(&self, input: &str) -> String {
        if self.typ.has_type_str() {
            return self.string(input);
        }
        let type_desc = match self.typ {
            T::Eof => return "end of input".to_owned(),
            T::Error => "error".to_owned(),
            T::Comment => "comment".to_owned(),
            T::Identifier => "identifier".to_owned(),
            T::MetricIdentifier => "metric identifier".to_owned(),
            T::String => "string".to_owned(),
            T::Number => "number".to_owned(),
            T::Duration => "duration".to_owned(),
            other => format!("\"<Item {}>\"", other.yacc_number()),
        };
        format!("{type_desc} {}", self.string(input))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Statements,
    InsideBraces,
    String,
    RawString,
    Escape,
    Space,
    LineComment,
    Duration,
    NumberOrDuration,
    KeywordOrIdentifier,
    Identifier,
    Done,
}

pub(crate) struct Lexer<'a> {
    input: &'a str,
    state: State,
    pos: usize,
    start: usize,
    width: usize,
    paren_depth: i64,
    brace_open: bool,
    bracket_open: bool,
    got_colon: bool,
    string_open: char,
}

fn is_space(c: Option<char>) -> bool {
    matches!(c, Some(' ' | '\t' | '\n' | '\r'))
}

fn is_alpha(c: Option<char>) -> bool {
    matches!(c, Some('_' | 'a'..='z' | 'A'..='Z'))
}

fn is_digit(c: Option<char>) -> bool {
    matches!(c, Some('0'..='9'))
}

fn is_alphanumeric(c: Option<char>) -> bool {
    is_alpha(c) || is_digit(c)
}

/// Prometheus' `isLabel`.
pub(crate) fn is_label(s: &str) -> bool {
    let mut chars = s.chars();
    is_alpha(chars.next()) && chars.all(|c| is_alphanumeric(Some(c)))
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(input: &'a str) -> Self {
        Lexer {
            input,
            state: State::Statements,
            pos: 0,
            start: 0,
            width: 0,
            paren_depth: 0,
            brace_open: false,
            bracket_open: false,
            got_colon: false,
            string_open: '"',
        }
    }

    fn next(&mut self) -> Option<char> {
        match self.input[self.pos..].chars().next() {
            None => {
                self.width = 0;
                None
            }
            Some(c) => {
                self.width = c.len_utf8();
                self.pos += self.width;
                Some(c)
            }
        }
    }

    fn peek(&mut self) -> Option<char> {
        let c = self.next();
        self.backup();
        c
    }

    fn backup(&mut self) {
        self.pos -= self.width;
    }

    fn emit(&mut self, typ: T) -> Item {
        let item = Item {
            typ,
            pos: self.start,
            end: self.pos,
            msg: None,
        };
        self.start = self.pos;
        item
    }

    fn ignore(&mut self) {
        self.start = self.pos;
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.next() {
            Some(c) if valid.contains(c) => true,
            _ => {
                self.backup();
                false
            }
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while let Some(c) = self.next() {
            if !valid.contains(c) {
                break;
            }
        }
        self.backup();
    }

    fn errorf(&mut self, msg: String) -> Option<Item> {
        self.state = State::Done;
        Some(Item {
            typ: T::Error,
            pos: self.start,
            end: self.input.len(),
            msg: Some(msg),
        })
    }

    /// The next item; after the end of input or an error, EOF items.
    pub(crate) fn next_item(&mut self) -> Item {
        loop {
            let item = match self.state {
                State::Done => return self.emit(T::Eof),
                State::Statements => self.lex_statements(),
                State::InsideBraces => self.lex_inside_braces(),
                State::String => self.lex_string(),
                State::RawString => self.lex_raw_string(),
                State::Escape => self.lex_escape(),
                State::Space => {
                    while is_space(self.peek()) {
                        self.next();
                    }
                    self.ignore();
                    self.state = State::Statements;
                    None
                }
                State::LineComment => {
                    self.pos += 1;
                    loop {
                        match self.next() {
                            None | Some('\r' | '\n') => break,
                            Some(_) => {}
                        }
                    }
                    self.backup();
                    self.state = State::Statements;
                    Some(self.emit(T::Comment))
                }
                State::Duration => self.lex_duration(),
                State::NumberOrDuration => self.lex_number_or_duration(),
                State::KeywordOrIdentifier => self.lex_keyword_or_identifier(),
                State::Identifier => {
                    while is_alphanumeric(self.next()) {}
                    self.backup();
                    self.state = State::Statements;
                    Some(self.emit(T::Identifier))
                }
            };
            if let Some(item) = item {
                return item;
            }
        }
    }

    fn lex_statements(&mut self) -> Option<Item> {
        if self.brace_open {
            self.state = State::InsideBraces;
            return None;
        }
        if self.input[self.pos..].starts_with('#') {
            self.state = State::LineComment;
            return None;
        }
        self.state = State::Statements;
        let r = self.next();
        let item = match r {
            None => {
                if self.paren_depth != 0 {
                    return self.errorf("unclosed left parenthesis".to_owned());
                } else if self.bracket_open {
                    return self.errorf("unclosed left bracket".to_owned());
                }
                self.state = State::Done;
                self.emit(T::Eof)
            }
            Some(',') => self.emit(T::Comma),
            c if is_space(c) => {
                self.state = State::Space;
                return None;
            }
            Some('*') => self.emit(T::Mul),
            Some('/') => self.emit(T::Div),
            Some('%') => self.emit(T::Mod),
            Some('+') => self.emit(T::Add),
            Some('-') => self.emit(T::Sub),
            Some('^') => self.emit(T::Pow),
            Some('=') => match self.peek() {
                Some('=') => {
                    self.next();
                    self.emit(T::Eqlc)
                }
                Some('~') => {
                    return self.errorf(format!("unexpected character after '=': {}", go::quote_rune(Some('~'))));
                }
                _ => self.emit(T::Eql),
            },
            Some('!') => match self.next() {
                Some('=') => self.emit(T::Neq),
                t => return self.errorf(format!("unexpected character after '!': {}", go::quote_rune(t))),
            },
            Some('<') => {
                if self.peek() == Some('=') {
                    self.next();
                    self.emit(T::Lte)
                } else {
                    self.emit(T::Lss)
                }
            }
            Some('>') => {
                if self.peek() == Some('=') {
                    self.next();
                    self.emit(T::Gte)
                } else {
                    self.emit(T::Gtr)
                }
            }
            c if is_digit(c) || (c == Some('.') && is_digit(self.peek())) => {
                self.backup();
                self.state = State::NumberOrDuration;
                return None;
            }
            Some(q @ ('"' | '\'')) => {
                self.string_open = q;
                self.state = State::String;
                return None;
            }
            Some('`') => {
                self.string_open = '`';
                self.state = State::RawString;
                return None;
            }
            c if is_alpha(c) || c == Some(':') => {
                if !self.bracket_open {
                    self.backup();
                    self.state = State::KeywordOrIdentifier;
                    return None;
                }
                if self.got_colon {
                    return self.errorf(format!("unexpected colon {}", go::quote_rune(c)));
                }
                self.got_colon = true;
                self.emit(T::Colon)
            }
            Some('(') => {
                self.paren_depth += 1;
                self.emit(T::LeftParen)
            }
            Some(')') => {
                let item = self.emit(T::RightParen);
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.errorf(format!("unexpected right parenthesis {}", go::quote_rune(r)));
                }
                item
            }
            Some('{') => {
                self.brace_open = true;
                self.state = State::InsideBraces;
                self.emit(T::LeftBrace)
            }
            Some('[') => {
                if self.bracket_open {
                    return self.errorf(format!("unexpected left bracket {}", go::quote_rune(r)));
                }
                self.got_colon = false;
                let item = self.emit(T::LeftBracket);
                if is_space(self.peek()) {
                    while is_space(self.peek()) {
                        self.next();
                    }
                    self.ignore();
                }
                self.bracket_open = true;
                self.state = State::Duration;
                item
            }
            Some(']') => {
                if !self.bracket_open {
                    return self.errorf(format!("unexpected right bracket {}", go::quote_rune(r)));
                }
                self.bracket_open = false;
                self.emit(T::RightBracket)
            }
            Some('@') => self.emit(T::At),
            c => return self.errorf(format!("unexpected character: {}", go::quote_rune(c))),
        };
        Some(item)
    }

    fn lex_inside_braces(&mut self) -> Option<Item> {
        if self.input[self.pos..].starts_with('#') {
            self.state = State::LineComment;
            return None;
        }
        self.state = State::InsideBraces;
        let item = match self.next() {
            None => return self.errorf("unexpected end of input inside braces".to_owned()),
            c if is_space(c) => {
                self.state = State::Space;
                return None;
            }
            c if is_alpha(c) => {
                self.backup();
                self.state = State::Identifier;
                return None;
            }
            Some(',') => self.emit(T::Comma),
            Some(q @ ('"' | '\'')) => {
                self.string_open = q;
                self.state = State::String;
                return None;
            }
            Some('`') => {
                self.string_open = '`';
                self.state = State::RawString;
                return None;
            }
            Some('=') => {
                if self.next() == Some('~') {
                    self.emit(T::EqlRegex)
                } else {
                    self.backup();
                    self.emit(T::Eql)
                }
            }
            Some('!') => match self.next() {
                Some('~') => self.emit(T::NeqRegex),
                Some('=') => self.emit(T::Neq),
                nr => {
                    return self.errorf(format!(
                        "unexpected character after '!' inside braces: {}",
                        go::quote_rune(nr)
                    ));
                }
            },
            Some('{') => return self.errorf(format!("unexpected left brace {}", go::quote_rune(Some('{')))),
            Some('}') => {
                self.brace_open = false;
                self.state = State::Statements;
                self.emit(T::RightBrace)
            }
            c => return self.errorf(format!("unexpected character inside braces: {}", go::quote_rune(c))),
        };
        Some(item)
    }

    fn lex_string(&mut self) -> Option<Item> {
        loop {
            match self.next() {
                Some('\\') => {
                    self.state = State::Escape;
                    return None;
                }
                Some('\u{FFFD}') => return self.errorf("invalid UTF-8 rune".to_owned()),
                None | Some('\n') => return self.errorf("unterminated quoted string".to_owned()),
                Some(c) if c == self.string_open => break,
                Some(_) => {}
            }
        }
        self.state = State::Statements;
        Some(self.emit(T::String))
    }

    fn lex_raw_string(&mut self) -> Option<Item> {
        loop {
            match self.next() {
                Some('\u{FFFD}') => return self.errorf("invalid UTF-8 rune".to_owned()),
                None => return self.errorf("unterminated raw string".to_owned()),
                Some(c) if c == self.string_open => break,
                Some(_) => {}
            }
        }
        self.state = State::Statements;
        Some(self.emit(T::String))
    }

    fn lex_escape(&mut self) -> Option<Item> {
        self.state = State::String;
        let mut ch = self.next();
        let (mut n, base, max): (u32, u32, u32) = match ch {
            Some('a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\') => return None,
            Some(c) if c == self.string_open => return None,
            Some('0'..='7') => (3, 8, 255),
            Some('x') => {
                ch = self.next();
                (2, 16, 255)
            }
            Some('u') => {
                ch = self.next();
                (4, 16, 0x10FFFF)
            }
            Some('U') => {
                ch = self.next();
                (8, 16, 0x10FFFF)
            }
            None => return self.errorf("escape sequence not terminated".to_owned()),
            Some(c) => return self.errorf(format!("unknown escape sequence {}", go::format_u(c))),
        };
        let mut x: u64 = 0;
        while n > 0 {
            let d = ch.and_then(|c| c.to_digit(16)).unwrap_or(16);
            if d >= base {
                return match ch {
                    None => self.errorf("escape sequence not terminated".to_owned()),
                    Some(c) => self.errorf(format!("illegal character {} in escape sequence", go::format_u(c))),
                };
            }
            x = x * u64::from(base) + u64::from(d);
            n -= 1;
            if n > 0 {
                ch = self.next();
            }
        }
        if x > u64::from(max) || (0xD800..0xE000).contains(&x) {
            return self.errorf("escape sequence is an invalid Unicode code point".to_owned());
        }
        None
    }

    fn scan_number(&mut self) -> bool {
        let mut digits = "0123456789";
        if self.accept("0") && self.accept("xX") {
            digits = "0123456789abcdefABCDEF";
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789");
        }
        !is_alphanumeric(self.peek())
    }

    fn accept_remaining_duration(&mut self) -> bool {
        if !self.accept("smhdwy") {
            return false;
        }
        self.accept("s");
        while self.accept("0123456789") {
            while self.accept("0123456789") {}
            if !self.accept("smhdw") {
                return false;
            }
            self.accept("s");
        }
        !is_alphanumeric(self.next())
    }

    fn lex_duration(&mut self) -> Option<Item> {
        if self.scan_number() {
            return self.errorf("missing unit character in duration".to_owned());
        }
        if !self.accept_remaining_duration() {
            let text = &self.input[self.start..self.pos];
            return self.errorf(format!("bad duration syntax: {}", go::quote(text)));
        }
        self.backup();
        self.state = State::Statements;
        Some(self.emit(T::Duration))
    }

    fn lex_number_or_duration(&mut self) -> Option<Item> {
        self.state = State::Statements;
        if self.scan_number() {
            return Some(self.emit(T::Number));
        }
        if self.accept_remaining_duration() {
            self.backup();
            return Some(self.emit(T::Duration));
        }
        let text = &self.input[self.start..self.pos];
        self.errorf(format!("bad number or duration syntax: {}", go::quote(text)))
    }

    fn lex_keyword_or_identifier(&mut self) -> Option<Item> {
        loop {
            let r = self.next();
            if is_alphanumeric(r) || r == Some(':') {
                continue;
            }
            self.backup();
            break;
        }
        let word = &self.input[self.start..self.pos];
        let typ = match keyword(&word.to_ascii_lowercase()) {
            Some(t) => t,
            None if !word.contains(':') => T::Identifier,
            None => T::MetricIdentifier,
        };
        self.state = State::Statements;
        Some(self.emit(typ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(input: &str) -> Vec<(T, String)> {
        let mut l = Lexer::new(input);
        let mut out = Vec::new();
        loop {
            let item = l.next_item();
            let text = match &item.msg {
                Some(m) => m.clone(),
                None => item.val(input).to_owned(),
            };
            out.push((item.typ, text));
            if matches!(item.typ, T::Eof | T::Error) {
                return out;
            }
        }
    }

    #[test]
    fn tokens() {
        use T::*;
        assert_eq!(
            lex("sum by(a) (rate(foo{bar=~\"x\",sum!=''}[5m:1m] offset -1h30m @ 12.5))"),
            vec![
                (Sum, "sum".into()),
                (By, "by".into()),
                (LeftParen, "(".into()),
                (Identifier, "a".into()),
                (RightParen, ")".into()),
                (LeftParen, "(".into()),
                (Identifier, "rate".into()),
                (LeftParen, "(".into()),
                (Identifier, "foo".into()),
                (LeftBrace, "{".into()),
                (Identifier, "bar".into()),
                (EqlRegex, "=~".into()),
                (String, "\"x\"".into()),
                (Comma, ",".into()),
                (Identifier, "sum".into()),
                (Neq, "!=".into()),
                (String, "''".into()),
                (RightBrace, "}".into()),
                (LeftBracket, "[".into()),
                (Duration, "5m".into()),
                (Colon, ":".into()),
                (Duration, "1m".into()),
                (RightBracket, "]".into()),
                (Offset, "offset".into()),
                (Sub, "-".into()),
                (Duration, "1h30m".into()),
                (At, "@".into()),
                (Number, "12.5".into()),
                (RightParen, ")".into()),
                (RightParen, ")".into()),
                (Eof, "".into()),
            ]
        );
    }

    #[test]
    fn numbers_and_errors() {
        use T::*;
        assert_eq!(
            lex("0x1F Inf .5 1e3"),
            vec![
                (Number, "0x1F".into()),
                (Number, "Inf".into()),
                (Number, ".5".into()),
                (Number, "1e3".into()),
                (Eof, "".into())
            ]
        );
        assert_eq!(lex("2.5.")[1], (Error, "unexpected character: '.'".into()));
        assert_eq!(
            lex("0deadbeef")[0],
            (Error, "bad number or duration syntax: \"0de\"".into())
        );
        assert_eq!(lex("foo[5]")[2], (Error, "missing unit character in duration".into()));
        assert_eq!(lex("\"\\q\"")[0], (Error, "unknown escape sequence U+0071 'q'".into()));
        assert_eq!(lex("a:b # c\n")[0], (MetricIdentifier, "a:b".into()));
        assert_eq!(lex("a:b # c\n")[1], (Comment, "# c".into()));
    }
}
