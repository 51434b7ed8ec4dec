//! Label names as Prometheus 2.42 accepts them.

/// Whether `name` is a valid Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
///
/// This is `model.LabelName.IsValid` of Prometheus 2.42 (before UTF-8 names).
///
/// ```
/// use vitrine_scrape_config::is_valid_label_name;
/// assert!(is_valid_label_name("team_2"));
/// assert!(!is_valid_label_name("2team"));
/// assert!(!is_valid_label_name("team-a"));
/// ```
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Label names that Vitrine sets itself and that users may not set on a target.
///
/// `project` and `environment` identify the tenant a series belongs to, `__name__` is the
/// metric name. Every name starting with `__` is reserved as well (see
/// [`reserved_label_reason`]).
pub const RESERVED_LABEL_NAMES: [&str; 3] = ["project", "environment", "__name__"];

/// Why a target label name is reserved, or `None` when users may set it.
pub fn reserved_label_reason(name: &str) -> Option<&'static str> {
    match name {
        "project" => Some("Vitrine sets `project` from the project the target belongs to"),
        "environment" => Some("Vitrine sets `environment` from the environment the target belongs to"),
        "__name__" => Some("`__name__` holds the metric name and cannot be set on a target"),
        _ if name.starts_with("__") => {
            Some("names starting with `__` are reserved for internal use (relabelling inputs such as `__address__`)")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_name_syntax() {
        for ok in ["a", "A", "_", "__name__", "job", "a1", "abc_DEF_123", "_1"] {
            assert!(is_valid_label_name(ok), "{ok}");
        }
        for bad in ["", "1", "1a", "a-b", "a.b", "a b", "ä", "a:b", "${1}", "$1"] {
            assert!(!is_valid_label_name(bad), "{bad}");
        }
    }

    #[test]
    fn reserved_names() {
        for name in RESERVED_LABEL_NAMES {
            assert!(reserved_label_reason(name).is_some(), "{name}");
        }
        assert!(reserved_label_reason("__address__").is_some());
        assert!(reserved_label_reason("__meta_x").is_some());
        assert!(reserved_label_reason("_private").is_none());
        assert!(reserved_label_reason("instance").is_none());
        assert!(reserved_label_reason("job").is_none());
        assert!(reserved_label_reason("projects").is_none());
    }
}
