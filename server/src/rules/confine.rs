//! Confines an expression to one project and environment of its client, as prom-label-proxy
//! does: every selector gets the reserved `project` (and `environment`) equality matchers, and
//! whatever the expression said about those labels itself is replaced.

use vitrine_promql::{Expr, MatchOp, Matcher, VectorSelector};

/// The labels every scraped series of an environment carries (`scrape::ingest::RESERVED`).
pub struct Place<'a> {
    pub project: &'a str,
    /// `None`: the whole project (every environment).
    pub environment: Option<&'a str>,
}

/// Rewrites every vector selector of `expr` (also inside range selectors and subqueries).
pub fn confine(expr: &mut Expr, place: &Place<'_>) {
    match expr {
        Expr::Number(_) | Expr::String(_) => {}
        Expr::VectorSelector(selector) => confine_selector(selector, place),
        Expr::MatrixSelector(matrix) => confine_selector(&mut matrix.selector, place),
        Expr::Subquery(sub) => confine(&mut sub.expr, place),
        Expr::Paren(paren) => confine(&mut paren.expr, place),
        Expr::Unary(unary) => confine(&mut unary.expr, place),
        Expr::Binary(binary) => {
            confine(&mut binary.lhs, place);
            confine(&mut binary.rhs, place);
        }
        Expr::Aggregate(aggregate) => {
            confine(&mut aggregate.expr, place);
            if let Some(param) = aggregate.param.as_mut() {
                confine(param, place);
            }
        }
        Expr::Call(call) => call.args.iter_mut().for_each(|arg| confine(arg, place)),
    }
}

fn confine_selector(selector: &mut VectorSelector, place: &Place<'_>) {
    selector
        .matchers
        .retain(|m| m.name != "project" && m.name != "environment");
    let mut add = |name: &str, value: &str| {
        // Equality matchers compile no regex: they cannot fail.
        if let Ok(matcher) = Matcher::new(MatchOp::Equal, name, value, 0) {
            selector.matchers.insert(0, matcher);
        }
    };
    if let Some(environment) = place.environment {
        add("environment", environment);
    }
    add("project", place.project);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confined(query: &str, environment: Option<&str>) -> String {
        let mut expr = vitrine_promql::parse(query).unwrap();
        confine(
            &mut expr,
            &Place {
                project: "shop",
                environment,
            },
        );
        vitrine_promql::print(&expr)
    }

    #[test]
    fn every_selector_gets_the_place_and_loses_its_own() {
        assert_eq!(
            confined(r#"up{project="other",environment=~".*"} == 0"#, Some("live")),
            r#"up{environment="live",project="shop"} == 0"#
        );
        assert_eq!(
            confined(
                r#"sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m] offset 1m))"#,
                Some("live")
            ),
            r#"sum(rate(http_requests_total{environment="live",project="shop",status=~"5.."}[5m])) / sum(rate(http_requests_total{environment="live",project="shop"}[5m] offset 1m))"#
        );
        assert_eq!(
            confined(r#"max_over_time(topk(1, {__name__="up"})[10m:1m])"#, None),
            r#"max_over_time(topk(1, {__name__="up",project="shop"})[10m:1m])"#
        );
        assert_eq!(
            confined("absent(up) or vector(1)", Some("stage")),
            r#"absent(up{environment="stage",project="shop"}) or vector(1)"#
        );
    }
}
