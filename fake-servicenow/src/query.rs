//! ServiceNow encoded queries (`sysparm_query`): `^` is AND, `^OR` ORs a
//! term with the one before it, `^NQ` starts an alternative query, and
//! `ORDERBY<field>` / `ORDERBYDESC<field>` sort. Like the real instance
//! (with `glide.invalid_query.returns_no_rows` off), a term naming an
//! unknown field or an operator the fake does not know is silently dropped,
//! so the query matches more rows, not fewer. Values are compared as
//! strings, case-sensitively, except on numeric columns. `^` inside a value
//! (escaped `^^` on the real instance) and dot-walked fields are not
//! supported.

use std::cmp::Ordering;

use crate::schema::ResolvedTable;
use crate::values::Fields;

/// A parsed encoded query bound to one table's columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EncodedQuery {
    /// `^NQ` alternatives; each is an AND of OR-groups of conditions.
    alternatives: Vec<Vec<Vec<Condition>>>,
    order: Vec<OrderBy>,
}

#[derive(Debug, Clone, PartialEq)]
struct Condition {
    field: String,
    numeric: bool,
    op: Op,
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq(String),
    Ne(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    IsEmpty,
    IsNotEmpty,
    Anything,
    Like(String),
    NotLike(String),
    StartsWith(String),
    EndsWith(String),
    Cmp(&'static str, String),
    Between(String, String),
}

#[derive(Debug, Clone, PartialEq)]
struct OrderBy {
    field: String,
    numeric: bool,
    descending: bool,
}

/// Operators, longest first where one is a prefix of another.
const OPERATORS: [&str; 17] = [
    "ISNOTEMPTY",
    "ISEMPTY",
    "ANYTHING",
    "NOT IN",
    "NOT LIKE",
    "IN",
    "LIKE",
    "STARTSWITH",
    "ENDSWITH",
    "BETWEEN",
    "!=",
    ">=",
    "<=",
    "=",
    ">",
    "<",
    "NOTIN",
];

impl EncodedQuery {
    /// Parses `text` against `table`'s columns.
    pub fn parse(text: &str, table: &ResolvedTable) -> Self {
        let mut order = Vec::new();
        let alternatives = text
            .split("^NQ")
            .map(|part| parse_alternative(part, table, &mut order))
            .collect();
        Self {
            alternatives,
            order,
        }
    }

    /// ANDs `field=value` into every alternative (plain `field=value` URL
    /// parameters); ignored for unknown fields, like query terms.
    pub fn and_equals(&mut self, field: &str, value: &str, table: &ResolvedTable) {
        if let Some(condition) = parse_condition(&format!("{field}={value}"), table) {
            for alternative in &mut self.alternatives {
                alternative.push(vec![condition.clone()]);
            }
        }
    }

    pub fn matches(&self, fields: &Fields) -> bool {
        self.alternatives.iter().any(|groups| {
            groups
                .iter()
                .all(|group| group.iter().any(|c| c.matches(fields)))
        })
    }

    /// Order of two rows under the query's `ORDERBY` terms (equal when it
    /// has none; a stable sort then keeps insertion order).
    pub fn compare(&self, a: &Fields, b: &Fields) -> Ordering {
        for key in &self.order {
            let x = field(a, &key.field);
            let y = field(b, &key.field);
            let ordering = sort_order(x, y, key.numeric);
            let ordering = if key.descending {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    }
}

fn parse_alternative(
    part: &str,
    table: &ResolvedTable,
    order: &mut Vec<OrderBy>,
) -> Vec<Vec<Condition>> {
    let mut groups: Vec<Vec<Condition>> = Vec::new();
    for term in part.split('^') {
        if let Some(key) = parse_order(term, table) {
            order.push(key);
            continue;
        }
        let (or, body) = match term.strip_prefix("OR") {
            Some(rest) if !groups.is_empty() => (true, rest),
            _ => (false, term),
        };
        let Some(condition) = parse_condition(body, table) else {
            continue;
        };
        match groups.last_mut() {
            Some(group) if or => group.push(condition),
            _ => groups.push(vec![condition]),
        }
    }
    groups
}

fn parse_order(term: &str, table: &ResolvedTable) -> Option<OrderBy> {
    let (name, descending) = match term.strip_prefix("ORDERBYDESC") {
        Some(name) => (name, true),
        None => (term.strip_prefix("ORDERBY")?, false),
    };
    let column = table.column(name)?;
    Some(OrderBy {
        field: name.to_owned(),
        numeric: is_numeric(&column.internal_type),
        descending,
    })
}

fn parse_condition(term: &str, table: &ResolvedTable) -> Option<Condition> {
    let end = term
        .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'))
        .unwrap_or(term.len());
    let (name, rest) = term.split_at(end);
    let column = table.column(name)?;
    let (operator, value) = OPERATORS
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|value| (*op, value)))?;
    Some(Condition {
        field: name.to_owned(),
        numeric: is_numeric(&column.internal_type),
        op: build_op(operator, value)?,
    })
}

fn build_op(operator: &'static str, value: &str) -> Option<Op> {
    let list = || value.split(',').map(str::to_owned).collect::<Vec<_>>();
    let v = value.to_owned();
    Some(match operator {
        "ISNOTEMPTY" => Op::IsNotEmpty,
        "ISEMPTY" => Op::IsEmpty,
        "ANYTHING" => Op::Anything,
        "NOT IN" | "NOTIN" => Op::NotIn(list()),
        "NOT LIKE" => Op::NotLike(v),
        "IN" => Op::In(list()),
        "LIKE" => Op::Like(v),
        "STARTSWITH" => Op::StartsWith(v),
        "ENDSWITH" => Op::EndsWith(v),
        "BETWEEN" => {
            let (low, high) = value.split_once('@')?;
            Op::Between(low.to_owned(), high.to_owned())
        }
        "=" => Op::Eq(v),
        "!=" => Op::Ne(v),
        cmp => Op::Cmp(cmp, v),
    })
}

impl Condition {
    fn matches(&self, fields: &Fields) -> bool {
        let value = field(fields, &self.field);
        let cmp = |other: &str| compare_values(value, other, self.numeric);
        match &self.op {
            Op::Eq(v) => value == v,
            Op::Ne(v) => value != v,
            Op::In(list) => list.iter().any(|v| v == value),
            Op::NotIn(list) => list.iter().all(|v| v != value),
            Op::IsEmpty => value.is_empty(),
            Op::IsNotEmpty => !value.is_empty(),
            Op::Anything => true,
            Op::Like(v) => value.contains(v.as_str()),
            Op::NotLike(v) => !value.contains(v.as_str()),
            Op::StartsWith(v) => value.starts_with(v.as_str()),
            Op::EndsWith(v) => value.ends_with(v.as_str()),
            Op::Between(low, high) => !value.is_empty() && cmp(low).is_ge() && cmp(high).is_le(),
            Op::Cmp(op, v) => !value.is_empty() && cmp_holds(op, cmp(v)),
        }
    }
}

fn cmp_holds(op: &str, ordering: Ordering) -> bool {
    match op {
        ">=" => ordering.is_ge(),
        "<=" => ordering.is_le(),
        ">" => ordering.is_gt(),
        _ => ordering.is_lt(),
    }
}

fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields.get(name).map_or("", String::as_str)
}

fn is_numeric(internal_type: &str) -> bool {
    matches!(
        internal_type,
        "integer" | "longint" | "decimal" | "float" | "currency" | "price"
    )
}

/// Numbers by value on numeric columns, strings otherwise.
fn compare_values(a: &str, b: &str, numeric: bool) -> Ordering {
    if numeric {
        if let (Ok(x), Ok(y)) = (a.parse::<f64>(), b.parse::<f64>()) {
            return x.total_cmp(&y);
        }
    }
    a.cmp(b)
}

/// A total order for sorting: on numeric columns non-numbers (empty) sort
/// before numbers.
fn sort_order(a: &str, b: &str, numeric: bool) -> Ordering {
    if !numeric {
        return a.cmp(b);
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        (Ok(_), Err(_)) => Ordering::Greater,
        (Err(_), Ok(_)) => Ordering::Less,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::schema::Schema;

    fn task() -> ResolvedTable {
        let schema = Schema::resolve(&Config::new().demo_tables().tables).unwrap();
        schema.table("task").unwrap().clone()
    }

    fn row(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn matches(query: &str, pairs: &[(&str, &str)]) -> bool {
        EncodedQuery::parse(query, &task()).matches(&row(pairs))
    }

    #[test]
    fn operators() {
        assert!(matches("sys_idINa,b,c", &[("sys_id", "b")]));
        assert!(!matches("sys_idINa,b,c", &[("sys_id", "d")]));
        assert!(matches("stateNOT IN1,2", &[("state", "3")]));
        assert!(matches("number=INC1", &[("number", "INC1")]));
        assert!(matches("number!=INC1", &[("number", "INC2")]));
        assert!(matches("descriptionISNOTEMPTY", &[("description", "x")]));
        assert!(!matches("descriptionISNOTEMPTY", &[("description", "")]));
        assert!(matches("descriptionISEMPTY", &[]));
        assert!(matches(
            "short_descriptionLIKEfire",
            &[("short_description", "on fire!")]
        ));
        assert!(matches("numberSTARTSWITHINC", &[("number", "INC7")]));
        assert!(matches("priority>=10", &[("priority", "10")]));
        assert!(!matches("priority>9", &[("priority", "")]));
        assert!(
            matches("priority>9", &[("priority", "10")]),
            "numeric, not string"
        );
        assert!(matches(
            "due_date>=2024-01-01 00:00:00",
            &[("due_date", "2024-03-01 10:00:00")]
        ));
        assert!(matches("priorityBETWEEN2@4", &[("priority", "3")]));
    }

    #[test]
    fn conjunctions_and_alternatives() {
        let r = [("state", "1"), ("priority", "2")];
        assert!(matches("state=1^priority=2", &r));
        assert!(!matches("state=1^priority=3", &r));
        assert!(matches("state=1^priority=3^ORpriority=2", &r));
        assert!(matches("state=9^NQpriority=2", &r));
        assert!(!matches("state=9^NQpriority=9", &r));
    }

    #[test]
    fn unknown_fields_and_operators_are_ignored() {
        assert!(matches("no_such_field=1^state=1", &[("state", "1")]));
        assert!(matches("stateWHATEVER1", &[("state", "2")]));
        assert!(matches("", &[]));
    }

    #[test]
    fn order_by_ascending_descending_and_numeric() {
        let query = EncodedQuery::parse("ORDERBYDESCpriority^ORDERBYnumber", &task());
        let mut rows = [
            row(&[("priority", "9"), ("number", "b")]),
            row(&[("priority", "10"), ("number", "a")]),
            row(&[("priority", "9"), ("number", "a")]),
        ];
        rows.sort_by(|a, b| query.compare(a, b));
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r["priority"].as_str(), r["number"].as_str()))
            .collect();
        assert_eq!(got, [("10", "a"), ("9", "a"), ("9", "b")]);
        assert!(query.matches(&row(&[])), "ORDERBY alone filters nothing");
    }
}
