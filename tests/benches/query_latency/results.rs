//! Reading `/api/v1/query_range` answers and comparing Vitrine's with
//! Prometheus': a fast answer counts only if it is the same answer.

use std::collections::BTreeMap;

/// Values may differ in the last bits only: engines may add the same numbers
/// in another order (`sum` over series, `avg_over_time` over samples).
const RELATIVE_TOLERANCE: f64 = 1e-9;
const ABSOLUTE_TOLERANCE: f64 = 1e-12;
/// Differences listed per case; the rest are counted.
const SHOWN: usize = 8;

/// A matrix result: each series' points, by its label set (sorted, as text).
pub struct Matrix {
    series: BTreeMap<String, Vec<(f64, f64)>>,
}

impl Matrix {
    /// Parses a `query_range` answer; an error envelope or another result type is an error.
    pub fn parse(body: &[u8]) -> Result<Matrix, String> {
        let answer = json(body)?;
        if answer["status"] != "success" {
            return Err(format!("the answer is not a success: {}", excerpt(body)));
        }
        if answer["data"]["resultType"] != "matrix" {
            return Err(format!("expected a matrix, got {}", answer["data"]["resultType"]));
        }
        let list = answer["data"]["result"]
            .as_array()
            .ok_or("no result list in the answer")?;
        let mut series = BTreeMap::new();
        for item in list {
            let labels = item["metric"].as_object().ok_or("a series without `metric`")?;
            // serde_json's map is ordered by key: the text is the same for the same label set.
            let key = labels
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join(",");
            let values = item["values"].as_array().ok_or("a series without `values`")?;
            let mut points = Vec::with_capacity(values.len());
            for point in values {
                let t = point[0].as_f64().ok_or("a point without a time")?;
                let v = point[1].as_str().ok_or("a point without a value")?;
                points.push((t, sample_value(v).ok_or_else(|| format!("unreadable value {v:?}"))?));
            }
            if series.insert(format!("{{{key}}}"), points).is_some() {
                return Err(format!("the series {{{key}}} appears twice"));
            }
        }
        Ok(Matrix { series })
    }

    pub fn series(&self) -> usize {
        self.series.len()
    }

    pub fn points(&self) -> usize {
        self.series.values().map(Vec::len).sum()
    }

    /// Where `other` differs from `self` (the reference): a few lines to show and their total count.
    pub fn differences(&self, other: &Matrix) -> (Vec<String>, usize) {
        let mut shown = Vec::new();
        let mut count = 0;
        let mut note = |line: String| {
            count += 1;
            if shown.len() < SHOWN {
                shown.push(line);
            }
        };
        for (key, expected) in &self.series {
            let Some(got) = other.series.get(key) else {
                note(format!("series {key} is missing ({} points)", expected.len()));
                continue;
            };
            if expected.len() != got.len() {
                note(format!(
                    "series {key}: {} points instead of {} (first times {:?} and {:?})",
                    got.len(),
                    expected.len(),
                    got.first().map(|p| p.0),
                    expected.first().map(|p| p.0)
                ));
                continue;
            }
            for (e, g) in expected.iter().zip(got) {
                if e.0 != g.0 {
                    note(format!("series {key}: a point at {} instead of {}", g.0, e.0));
                    break;
                }
                if !same(e.1, g.1) {
                    note(format!("series {key} at {}: {} instead of {}", e.0, g.1, e.1));
                }
            }
        }
        for (key, got) in &other.series {
            if !self.series.contains_key(key) {
                note(format!("series {key} is extra ({} points)", got.len()));
            }
        }
        (shown, count)
    }
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan())
        || a == b
        || (a - b).abs() <= ABSOLUTE_TOLERANCE
        || (a - b).abs() <= RELATIVE_TOLERANCE * a.abs().max(b.abs())
}

/// A value as the API writes it: a decimal, `NaN`, `+Inf` or `-Inf`.
fn sample_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

fn json(body: &[u8]) -> Result<serde_json::Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON ({e}): {}", excerpt(body)))
}

/// The start of a body, for error messages.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(400)]).into_owned();
    if body.len() > 400 { format!("{text}…") } else { text }
}

/// A query's single value (`/api/v1/query` with a vector of one sample), e.g. a count.
pub fn single_value(body: &[u8]) -> Result<f64, String> {
    let answer = json(body)?;
    let value = answer["data"]["result"][0]["value"][1]
        .as_str()
        .ok_or_else(|| format!("no single value in {}", excerpt(body)))?;
    sample_value(value).ok_or_else(|| format!("unreadable value {value:?}"))
}

/// A list of strings (`/api/v1/label/NAME/values`).
pub fn string_list(body: &[u8]) -> Result<Vec<String>, String> {
    let answer = json(body)?;
    answer["data"]
        .as_array()
        .and_then(|list| list.iter().map(|v| v.as_str().map(str::to_string)).collect())
        .ok_or_else(|| format!("no list of strings in {}", excerpt(body)))
}
