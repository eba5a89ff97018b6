//! The condition tree: what `where` parses into and what the structured `condition`
//! input converts into, before attribute names are resolved.

use serde::{Deserialize, Serialize};

/// A targeting condition over tags and attributes (see the module doc for its meaning).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Condition {
    /// Every account.
    All,
    /// Accounts holding this tag.
    Tag(String),
    /// Accounts whose attribute `name` satisfies `op`.
    Attr {
        /// The app attribute name.
        name: String,
        /// The comparison and its literal(s).
        op: AttrOp,
    },
    /// Accounts that have a value for this attribute name.
    Exists(String),
    /// Accounts not matching the inner condition.
    Not(Box<Condition>),
    /// Accounts matching every condition (the list must not be empty).
    And(Vec<Condition>),
    /// Accounts matching any condition (the list must not be empty).
    Or(Vec<Condition>),
}

/// A comparison of an attribute with literals; numeric when both sides are numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrOp {
    /// `=`: equal (numerically when both are numbers, else as strings).
    Eq(String),
    /// `!=`: has a value and it is not equal.
    Ne(String),
    /// `<`: both numbers and less.
    Lt(String),
    /// `<=`: both numbers and less or equal.
    Le(String),
    /// `>`: both numbers and greater.
    Gt(String),
    /// `>=`: both numbers and greater or equal.
    Ge(String),
    /// `in (...)`: equal to any of the values (the list must not be empty).
    In(Vec<String>),
}
