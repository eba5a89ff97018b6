//! Who a push is for: the targeting forms of API.md ("Targeting"), compiled once into a
//! [`Plan`] and evaluated as roaring-bitmap algebra over the directory's indexes.
//!
//! The module is pure (no I/O): the directory lends its bitmaps through [`Index`], and
//! a push resolves its audience once with [`compile`] then [`Plan::evaluate`].
//!
//! # Forms
//! A [`Target`] holds up to six optional parts; the parts given must all hold (AND),
//! and a target with none selects every account:
//! `tagsAnd` (holds every tag), `tagsOr` (holds any tag), `attrsAnd` / `attrsOr`
//! (`name = value` for every / any pair), `where` (the language below) and
//! `condition` (the same tree as structured input, [`Condition`]).
//!
//! # The `where` language
//! ```text
//! expr    = or
//! or      = and { "or" and }
//! and     = unary { "and" unary }
//! unary   = "not" unary | primary
//! primary = "(" or ")"
//!         | "all"
//!         | "tag" "(" string ")"
//!         | "exists" "(" name ")"
//!         | name cmp value
//!         | name "in" "(" value { "," value } ")"
//! cmp     = "=" | "!=" | "<" | "<=" | ">" | ">="
//! value   = string | number
//! string  = '"' { any char but '"' and '\' | '\"' | '\\' } '"'
//! number  = a word that parses as a finite f64, e.g. 3  -2.5  1e6
//! name    = word                      (an attribute name of the app)
//! word    = { letter | digit | "_" | "-" | "." | "+" }-   (letters include non-ASCII)
//! ```
//! Precedence is `not` > `and` > `or`; keywords are case-insensitive; whitespace is free.
//! A word directly followed by a comparison operator or `in` is always an attribute
//! name, so attributes may be called `all`, `tag` or `not`.
//! Examples: `tag("stock A") and (city = "Shenzhen" or not tag("vip"))`,
//! `tier in ("gold", "platinum") and exists(city)`, `level >= 3`, `all and not tag("muted")`.
//!
//! # Meaning
//! - A comparison is numeric when both the literal and the stored value are numbers
//!   ([`number`]; quoted or not), so `level = 3` matches a stored `"3.0"`; otherwise `=`
//!   and `!=` compare strings and an ordering comparison is false.
//! - A comparison or `in` on an attribute the account does not have is false:
//!   `not city = "X"` includes accounts without a city, `city != "X"` does not.
//! - `attrsAnd` / `attrsOr` pairs mean `name = value` as above.
//! - An unknown tag selects nobody; an unknown attribute name is an error.
//!
//! # Limits ([`Limits`])
//! Tags and values are 1..=50 bytes, `where` at most 8192 bytes, conditions nest at most
//! 64 deep (`not`, `and`, `or`, and in `where` also parentheses) and hold at most 1024
//! leaves over the whole target (each value of an `in` list and each listed tag or pair
//! is a leaf).

mod ast;
mod compile;
mod eval;
mod parse;

#[cfg(test)]
mod naive;

use std::ops::Bound;

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::error::{Classified, Classify};

pub use ast::{AttrOp, Condition};
pub use compile::{Plan, compile};
pub use parse::parse;

/// The directory's bitmaps as the audience module reads them.
///
/// Invariants the evaluation relies on: every bitmap handed out is a subset of
/// [`Index::all`], and an account holds at most one value per slot (so the bitmaps of
/// distinct values of a slot are disjoint).
pub trait Index {
    /// Every reachable account (the universe for `all` and `not`).
    fn all(&self) -> &RoaringBitmap;
    /// Accounts holding `tag`; None when no account holds it.
    fn tag(&self, tag: &str) -> Option<&RoaringBitmap>;
    /// Slot (0..=9) of an app attribute name; None when the app has no such attribute name.
    fn slot(&self, name: &str) -> Option<u8>;
    /// Accounts whose attribute in `slot` equals `value` exactly.
    fn attr_eq(&self, slot: u8, value: &str) -> Option<&RoaringBitmap>;
    /// Accounts that have any value in `slot`.
    fn attr_exists(&self, slot: u8) -> Option<&RoaringBitmap>;
    /// For values of `slot` that are numbers ([`number`]), the bitmaps of the distinct
    /// values within the range, (visit each). Any disjoint bitmaps whose union is those
    /// accounts will do, so an index may visit pre-merged buckets of adjacent values: the
    /// cost of a range grows with the accounts in the bitmaps visited.
    fn attr_numeric(
        &self,
        slot: u8,
        range: (Bound<f64>, Bound<f64>),
        visit: &mut dyn FnMut(&RoaringBitmap),
    );
}

/// The number a stored value or a literal stands for: it parses as a finite f64.
/// The directory must use this same rule for [`Index::attr_numeric`].
pub fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Who a push is for, as the API received it (persisted with the push, hence serde).
/// The parts given must all hold; a target with none selects every account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// `tagsAnd`: accounts holding every one of these tags.
    pub tags_and: Option<Vec<String>>,
    /// `tagsOr`: accounts holding any of these tags.
    pub tags_or: Option<Vec<String>>,
    /// `attrsAnd`: accounts whose attributes match every `(name, value)` pair.
    pub attrs_and: Option<Vec<(String, String)>>,
    /// `attrsOr`: accounts whose attributes match any `(name, value)` pair.
    pub attrs_or: Option<Vec<(String, String)>>,
    /// `where`: a condition in the text language of this module's doc.
    #[serde(rename = "where")]
    pub where_: Option<String>,
    /// `condition`: the same tree as structured input, for programs that build conditions.
    pub condition: Option<Condition>,
}

/// Size caps on a target, so one request cannot make the server parse or evaluate
/// without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes in one tag (`tagBytes`).
    pub max_tag_bytes: usize,
    /// Most bytes in one attribute value or literal (`valueBytes`).
    pub max_value_bytes: usize,
    /// Deepest nesting of `not` / `and` / `or` (and parentheses in `where`) (`conditionDepth`).
    pub max_depth: usize,
    /// Most leaves (tags, comparisons, `in` values, `exists`, `all`) in a target (`conditionLeaves`).
    pub max_leaves: usize,
    /// Most bytes in the `where` text (`whereBytes`).
    pub max_where_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_tag_bytes: 50,
            max_value_bytes: 50,
            max_depth: 64,
            max_leaves: 1024,
            max_where_bytes: 8192,
        }
    }
}

/// Why a target was refused; every variant names the input field in GraphQL spelling
/// (e.g. `target.attrsOr[0].value`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input at `field` is malformed, empty, or names an unknown attribute.
    #[error("{field}: {message}")]
    Invalid {
        /// The input field at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The `where` text is not in the language.
    #[error("{field}: at byte {at}: {message}")]
    Syntax {
        /// The input field at fault (`target.where`).
        field: String,
        /// Byte offset of the fault in the text.
        at: usize,
        /// What was expected there.
        message: String,
    },
    /// A size limit was crossed.
    #[error("{field}: {message}")]
    Limit {
        /// The limit's public name (`tagBytes`, `valueBytes`, `conditionDepth`,
        /// `conditionLeaves`, `whereBytes`).
        limit: &'static str,
        /// The input field that crossed it.
        field: String,
        /// The size found and the cap.
        message: String,
    },
}

impl Classify for Error {
    fn classify(&self) -> Classified {
        match self {
            Error::Invalid { field, .. } | Error::Syntax { field, .. } => {
                Classified::invalid(field.clone())
            }
            Error::Limit { limit, field, .. } => Classified::limit(*limit, field.clone()),
        }
    }
}

/// Public names of the limits, as `extensions.limit` shows them.
mod limit {
    pub(super) const TAG_BYTES: &str = "tagBytes";
    pub(super) const VALUE_BYTES: &str = "valueBytes";
    pub(super) const DEPTH: &str = "conditionDepth";
    pub(super) const LEAVES: &str = "conditionLeaves";
    pub(super) const WHERE_BYTES: &str = "whereBytes";
}

/// Which kind of text [`check_text`] checks.
#[derive(Debug, Clone, Copy)]
enum Text {
    Tag,
    Value,
}

/// Checks a tag or value against its rules (1 byte up to the limit). `at` is the byte
/// offset in `where`, when the text came from there.
fn check_text(
    kind: Text,
    s: &str,
    limits: &Limits,
    field: impl FnOnce() -> String,
    at: Option<usize>,
) -> Result<(), Error> {
    let (what, max, name) = match kind {
        Text::Tag => ("tag", limits.max_tag_bytes, limit::TAG_BYTES),
        Text::Value => ("value", limits.max_value_bytes, limit::VALUE_BYTES),
    };
    let prefix = at.map(|at| format!("at byte {at}: ")).unwrap_or_default();
    if s.is_empty() {
        return Err(Error::Invalid {
            field: field(),
            message: format!("{prefix}a {what} must not be empty"),
        });
    }
    if s.len() > max {
        return Err(Error::Limit {
            limit: name,
            field: field(),
            message: format!("{prefix}a {what} is at most {max} bytes, got {}", s.len()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    #[test]
    fn number_accepts_finite_floats_only() {
        assert_eq!(number("3"), Some(3.0));
        assert_eq!(number("3.0"), Some(3.0));
        assert_eq!(number("-2.5"), Some(-2.5));
        assert_eq!(number("1e3"), Some(1000.0));
        for s in ["", " 3", "abc", "inf", "NaN", "1e999", "0x10"] {
            assert_eq!(number(s), None, "{s:?}");
        }
    }

    #[test]
    fn errors_classify_with_field_and_limit() {
        let e = Error::Invalid {
            field: "target.tagsAnd".into(),
            message: "x".into(),
        };
        assert_eq!(e.classify(), Classified::invalid("target.tagsAnd"));
        let e = Error::Syntax {
            field: "target.where".into(),
            at: 17,
            message: "expected ')'".into(),
        };
        assert_eq!(e.to_string(), "target.where: at byte 17: expected ')'");
        assert_eq!(e.classify().code, Code::InvalidArgument);
        let e = Error::Limit {
            limit: limit::TAG_BYTES,
            field: "target.tagsOr[1]".into(),
            message: "x".into(),
        };
        assert_eq!(
            e.classify(),
            Classified::limit("tagBytes", "target.tagsOr[1]")
        );
    }

    #[test]
    fn target_round_trips_through_json_and_postcard() {
        let t = Target {
            tags_and: Some(vec!["a".into()]),
            attrs_or: Some(vec![("city".into(), "X".into())]),
            where_: Some("level >= 3".into()),
            condition: Some(Condition::Not(Box::new(Condition::And(vec![
                Condition::Tag("vip".into()),
                Condition::Attr {
                    name: "tier".into(),
                    op: AttrOp::In(vec!["a".into(), "b".into()]),
                },
            ])))),
            ..Target::default()
        };
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("\"where\""));
        assert_eq!(serde_json::from_str::<Target>(&json).unwrap(), t);
        let bytes = postcard::to_allocvec(&t).unwrap();
        assert_eq!(postcard::from_bytes::<Target>(&bytes).unwrap(), t);
    }
}
