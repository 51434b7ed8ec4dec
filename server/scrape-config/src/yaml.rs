//! A small YAML document tree with positions, built from `saphyr-parser` events.
//!
//! Every node keeps the line and column where it starts, so the importer can point at keys.
//! Anchors and aliases are resolved (with a byte budget against alias bombs), merge keys (`<<`)
//! are applied like Go's yaml.v2 does, and duplicate keys are refused like Prometheus'
//! strict unmarshalling does.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// The most memory a document may expand to, aliases included: every node costs its own
/// size plus its text, so an alias bomb is stopped whether it repeats many small values or
/// a few long ones (a 64 KiB file aliasing a 60 KiB string 1,000 times would be 60 MB).
pub(crate) const MAX_EXPANDED_BYTES: usize = 32 << 20;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    /// The text, and whether it was a plain (unquoted, untagged) scalar.
    Scalar(String, bool),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// What kind of value this is, for error messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "nothing",
            Kind::Scalar(..) => "a single value",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping (key: value pairs)",
        }
    }

    /// The text of a scalar key, for paths and messages.
    pub fn key_text(&self) -> String {
        match &self.kind {
            Kind::Scalar(s, _) => s.clone(),
            Kind::Null => String::new(),
            Kind::Seq(_) => "[…]".into(),
            Kind::Map(_) => "{…}".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LoadError {
    /// The parser refused the text.
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// The document is structurally valid YAML that we refuse.
    Refused {
        line: usize,
        column: usize,
        message: String,
    },
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: Span,
        anchor: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        start: Span,
        anchor: usize,
    },
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    documents: Vec<Node>,
    /// What the document has expanded to so far, in bytes (see [`weight`]).
    expanded: usize,
}

fn position(span: &Span) -> (usize, usize) {
    (span.start.line(), span.start.col() + 1)
}

fn node(kind: Kind, span: &Span) -> Node {
    let (line, column) = position(span);
    Node { kind, line, column }
}

/// What a node holds in memory: its own size and its text, with everything beneath it.
fn weight(node: &Node) -> usize {
    std::mem::size_of::<Node>()
        + match &node.kind {
            Kind::Null => 0,
            Kind::Scalar(text, _) => text.len(),
            Kind::Seq(items) => items.iter().map(weight).sum::<usize>(),
            Kind::Map(entries) => entries.iter().map(|(k, v)| weight(k) + weight(v)).sum::<usize>(),
        }
}

impl Builder {
    fn count(&mut self, bytes: usize, span: &Span) -> Result<(), LoadError> {
        self.expanded = self.expanded.saturating_add(bytes);
        if self.expanded > MAX_EXPANDED_BYTES {
            let (line, column) = position(span);
            return Err(LoadError::Refused {
                line,
                column,
                message: format!(
                    "the document expands to more than {} MiB (too many aliases)",
                    MAX_EXPANDED_BYTES >> 20
                ),
            });
        }
        Ok(())
    }

    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), LoadError> {
        if anchor != 0 {
            let bytes = weight(&node);
            self.anchors.insert(anchor, (node.clone(), bytes));
        }
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
        Ok(())
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), LoadError> {
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                self.count(std::mem::size_of::<Node>() + value.len(), &span)?;
                let plain = style == ScalarStyle::Plain && tag.is_none();
                let kind = if plain && matches!(&*value, "" | "~" | "null" | "Null" | "NULL") {
                    Kind::Null
                } else {
                    Kind::Scalar(value.into_owned(), plain)
                };
                self.finish(node(kind, &span), anchor)
            }
            Event::SequenceStart(anchor, _) => {
                self.count(std::mem::size_of::<Node>(), &span)?;
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    start: span,
                    anchor,
                });
                Ok(())
            }
            Event::MappingStart(anchor, _) => {
                self.count(std::mem::size_of::<Node>(), &span)?;
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    key: None,
                    start: span,
                    anchor,
                });
                Ok(())
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq { items, start, anchor }) => self.finish(node(Kind::Seq(items), &start), anchor),
                _ => unreachable!("the parser balances sequences"),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    entries, start, anchor, ..
                }) => {
                    let entries = merge_and_check(entries)?;
                    self.finish(node(Kind::Map(entries), &start), anchor)
                }
                _ => unreachable!("the parser balances mappings"),
            },
            Event::Alias(id) => {
                let Some(&(_, bytes)) = self.anchors.get(&id) else {
                    let (line, column) = position(&span);
                    return Err(LoadError::Refused {
                        line,
                        column,
                        message: "alias to an unknown anchor".into(),
                    });
                };
                // Counted before the copy is made, so a refused bomb allocates nothing.
                self.count(bytes, &span)?;
                let target = self.anchors[&id].0.clone();
                self.finish(target, 0)
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::DocumentEnd => {
                Ok(())
            }
        }
    }
}

fn is_merge_key(node: &Node) -> bool {
    matches!(&node.kind, Kind::Scalar(s, true) if s == "<<")
}

/// Whether two keys are the same key: scalars by their text, however they were quoted.
fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Scalar(x, _), Kind::Scalar(y, _)) => x == y,
        (x, y) => x == y,
    }
}

fn scalar_key(node: &Node) -> Option<&str> {
    match &node.kind {
        Kind::Scalar(s, _) => Some(s),
        _ => None,
    }
}

/// The keys of one mapping, found by their text (scalars however quoted, see [`same_key`])
/// in constant time, so a mapping with many keys, merged or not, is checked in linear time.
#[derive(Default)]
struct Keys {
    scalars: HashMap<String, usize>,
    others: Vec<(Node, usize)>,
}

impl Keys {
    /// The line where `key` was first seen, or `None` after remembering it at `line`.
    fn seen(&mut self, key: &Node, line: usize) -> Option<usize> {
        if let Some(text) = scalar_key(key) {
            if let Some(&first) = self.scalars.get(text) {
                return Some(first);
            }
            self.scalars.insert(text.to_owned(), line);
        } else {
            if let Some((_, first)) = self.others.iter().find(|(k, _)| same_key(k, key)) {
                return Some(*first);
            }
            self.others.push((key.clone(), line));
        }
        None
    }
}

/// Applies `<<` merge keys (explicit keys win, earlier merged maps win over later ones) and
/// refuses duplicate keys.
fn merge_and_check(entries: Vec<(Node, Node)>) -> Result<Vec<(Node, Node)>, LoadError> {
    let mut own = Vec::with_capacity(entries.len());
    let mut own_keys = Keys::default();
    let mut sources = Vec::new();
    for (key, value) in entries {
        if !is_merge_key(&key) {
            if let Some(first) = own_keys.seen(&key, key.line) {
                let name = scalar_key(&key)
                    .map(|s| format!("{s:?}"))
                    .unwrap_or_else(|| "this key".into());
                return Err(LoadError::Refused {
                    line: key.line,
                    column: key.column,
                    message: format!("duplicate key {name}: it was already set on line {first}"),
                });
            }
            own.push((key, value));
            continue;
        }
        match value.kind {
            Kind::Map(m) => sources.push(m),
            Kind::Seq(items) => {
                for item in items {
                    match item.kind {
                        Kind::Map(m) => sources.push(m),
                        _ => {
                            return Err(LoadError::Refused {
                                line: item.line,
                                column: item.column,
                                message: "a merge key (<<) can only merge mappings".into(),
                            });
                        }
                    }
                }
            }
            _ => {
                return Err(LoadError::Refused {
                    line: key.line,
                    column: key.column,
                    message: "a merge key (<<) needs a mapping or a list of mappings".into(),
                });
            }
        }
    }
    // Explicit keys are all in `own_keys` now: a merged key already there is skipped.
    for source in sources {
        for (k, v) in source {
            if own_keys.seen(&k, k.line).is_none() {
                own.push((k, v));
            }
        }
    }
    Ok(own)
}

/// Parses one YAML document. `Ok(None)` for a document without content.
pub(crate) fn load(text: &str) -> Result<Option<Node>, LoadError> {
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        documents: Vec::new(),
        expanded: 0,
    };
    while let Some(result) = parser.next_event() {
        let (event, span) = result.map_err(|e| LoadError::Syntax {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_owned(),
        })?;
        builder.event(event, span)?;
    }
    let mut documents = builder.documents.into_iter();
    let first = documents.next();
    if let Some(second) = documents.next() {
        return Err(LoadError::Refused {
            line: second.line,
            column: second.column,
            message: "a second YAML document starts here; prometheus.yml holds exactly one".into(),
        });
    }
    Ok(first.filter(|n| n.kind != Kind::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(n: &Node) -> &[(Node, Node)] {
        match &n.kind {
            Kind::Map(m) => m,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn positions_are_one_based() {
        let doc = load("a: 1\nlist:\n  - x\n  - 'y'\n").unwrap().unwrap();
        let m = map(&doc);
        assert_eq!((m[0].0.line, m[0].0.column), (1, 1));
        assert_eq!((m[0].1.line, m[0].1.column), (1, 4));
        assert_eq!(m[0].1.kind, Kind::Scalar("1".into(), true));
        assert_eq!((m[1].0.line, m[1].0.column), (2, 1));
        let Kind::Seq(items) = &m[1].1.kind else { panic!() };
        assert_eq!((items[1].line, items[1].column), (4, 5));
        assert_eq!(items[1].kind, Kind::Scalar("y".into(), false));
    }

    #[test]
    fn nulls_and_empty_documents() {
        assert_eq!(load("").unwrap(), None);
        assert_eq!(load("# only a comment\n").unwrap(), None);
        assert_eq!(load("---\n...\n").unwrap(), None);
        let doc = load("a:\nb: ~\nc: null\nd: 'null'\n").unwrap().unwrap();
        let kinds: Vec<_> = map(&doc).iter().map(|(_, v)| v.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![Kind::Null, Kind::Null, Kind::Null, Kind::Scalar("null".into(), false)]
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = load("a: 1\n  b: 2\n").unwrap_err();
        assert!(matches!(err, LoadError::Syntax { line: 2, .. }), "{err:?}");
        let err = load("a: [1, 2\n").unwrap_err();
        assert!(matches!(err, LoadError::Syntax { .. }), "{err:?}");
    }

    #[test]
    fn duplicate_keys_are_refused() {
        assert!(load("a: 1\n'a': 2\n").is_err());
        let err = load("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(
            err,
            LoadError::Refused {
                line: 3,
                column: 1,
                message: "duplicate key \"a\": it was already set on line 1".into()
            }
        );
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let doc = load("base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\nlist: [*b]\n")
            .unwrap()
            .unwrap();
        let m = map(&doc);
        let child = map(&m[1].1);
        let pairs: Vec<_> = child.iter().map(|(k, v)| (k.key_text(), v.key_text())).collect();
        assert_eq!(
            pairs,
            vec![("y".to_string(), "3".to_string()), ("x".to_string(), "1".to_string())]
        );
        let Kind::Seq(items) = &m[2].1.kind else { panic!() };
        assert_eq!(map(&items[0]).len(), 2);
        let doc = load("a: &a {p: 1}\nb: &b {p: 2, q: 3}\nc:\n  <<: [*a, *b]\n")
            .unwrap()
            .unwrap();
        let c = map(&map(&doc)[2].1);
        let pairs: Vec<_> = c.iter().map(|(k, v)| (k.key_text(), v.key_text())).collect();
        assert_eq!(
            pairs,
            vec![("p".to_string(), "1".to_string()), ("q".to_string(), "3".to_string())]
        );
        assert!(matches!(load("a: {<<: 1}\n"), Err(LoadError::Refused { .. })));
    }

    #[test]
    fn alias_bombs_are_stopped() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let err = load(&text).unwrap_err();
        assert!(
            matches!(err, LoadError::Refused { ref message, .. } if message.contains("too many aliases")),
            "{err:?}"
        );
    }

    /// A short file that aliases one long string many times: few values, a lot of memory.
    #[test]
    fn alias_bombs_of_long_strings_are_stopped() {
        let long = "x".repeat(60 * 1024);
        let mut text = format!("s: &s {long}\nlist:\n");
        for _ in 0..1000 {
            text.push_str("  - *s\n");
        }
        assert!(text.len() < 70 * 1024);
        let err = load(&text).unwrap_err();
        assert!(
            matches!(err, LoadError::Refused { ref message, .. } if message.contains("more than 32 MiB")),
            "{err:?}"
        );
        // The same string aliased a few times is fine.
        let ok = format!("s: &s {long}\nlist: [*s, *s, *s]\n");
        assert!(load(&ok).is_ok());
    }

    /// Many keys, and many keys merged into a mapping, are checked in linear time.
    #[test]
    fn mappings_with_many_keys_load_quickly() {
        let mut text = String::from("base: &b\n");
        for i in 0..50_000 {
            text.push_str(&format!("  k{i}: {i}\n"));
        }
        text.push_str("child:\n  <<: *b\n  k7: seven\n");
        let started = std::time::Instant::now();
        let doc = load(&text).unwrap().unwrap();
        let child = map(&map(&doc)[1].1);
        assert_eq!(child.len(), 50_000);
        assert_eq!(child[0].1.key_text(), "seven");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn multiple_documents_are_refused() {
        let err = load("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(matches!(err, LoadError::Refused { line: 3, .. }), "{err:?}");
    }
}
