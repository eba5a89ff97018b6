//! Target -> Plan: validates every part against the limits and the app's attribute names
//! (errors name the GraphQL field), resolves names to slots, lowers comparisons to
//! index lookups, and flattens and folds the boolean structure.

use std::collections::BTreeSet;
use std::ops::Bound::{self, Excluded, Included, Unbounded};

use super::parse::parse_with;
use super::{AttrOp, Condition, Error, Index, Limits, Target, Text, check_text, limit, number};

/// A compiled target: names resolved to slots, constants folded. Evaluate it against the
/// directory it was compiled for: slots mean the app's attribute names at compile time.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub(super) root: Node,
}

/// A set the index hands out as is (or the universe / nobody).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Set {
    /// Every account.
    All,
    /// Nobody.
    Empty,
    /// Holders of a tag (unknown tags: nobody).
    Tag(String),
    /// Accounts whose `slot` value is exactly this non-numeric string.
    Eq { slot: u8, value: String },
    /// Accounts with any value in `slot`.
    Exists(u8),
}

/// A node of the plan. `And` / `Or` hold at least two children, none of them of their
/// own kind, and no `All` / `Empty` below the root.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Set(Set),
    /// Accounts whose numeric `slot` value lies in the range (the union of its values).
    Range {
        slot: u8,
        lo: Bound<f64>,
        hi: Bound<f64>,
    },
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
}

/// Compiles a target against the app's attribute names, refusing it with an error that
/// names the GraphQL field at fault.
pub fn compile(target: &Target, index: &dyn Index, limits: &Limits) -> Result<Plan, Error> {
    let mut cx = Lower {
        index,
        limits,
        leaves: 0,
    };
    let mut parts = Vec::new();
    if let Some(tags) = &target.tags_and {
        parts.push(and(cx.tags(tags, "target.tagsAnd")?));
    }
    if let Some(tags) = &target.tags_or {
        parts.push(or(cx.tags(tags, "target.tagsOr")?));
    }
    if let Some(pairs) = &target.attrs_and {
        parts.push(and(cx.pairs(pairs, "target.attrsAnd")?));
    }
    if let Some(pairs) = &target.attrs_or {
        parts.push(or(cx.pairs(pairs, "target.attrsOr")?));
    }
    if let Some(src) = &target.where_ {
        let known = |name: &str| index.slot(name).is_some();
        let condition = parse_with(src, limits, Some(&known))?;
        parts.push(cx.lower(&condition, 0, &Path::Where)?);
    }
    if let Some(condition) = &target.condition {
        parts.push(cx.lower(condition, 0, &Path::Root("target.condition"))?);
    }
    Ok(Plan { root: and(parts) })
}

/// Where a part of the input sits, rendered into a GraphQL field path only on error.
/// Everything under a parsed `where` reports as `target.where`.
#[derive(Debug, Clone, Copy)]
enum Path<'p> {
    Where,
    Root(&'static str),
    Field(&'p Path<'p>, &'static str),
    Index(&'p Path<'p>, usize),
}

impl Path<'_> {
    fn field(&self, name: &'static str) -> Path<'_> {
        match self {
            Path::Where => Path::Where,
            _ => Path::Field(self, name),
        }
    }

    fn index(&self, i: usize) -> Path<'_> {
        match self {
            Path::Where => Path::Where,
            _ => Path::Index(self, i),
        }
    }

    fn render(&self) -> String {
        match self {
            Path::Where => "target.where".to_owned(),
            Path::Root(root) => (*root).to_owned(),
            Path::Field(parent, name) => format!("{}.{name}", parent.render()),
            Path::Index(parent, i) => format!("{}[{i}]", parent.render()),
        }
    }
}

/// Lowering state: the index for slot lookups and the running leaf count.
struct Lower<'a> {
    index: &'a dyn Index,
    limits: &'a Limits,
    leaves: usize,
}

impl Lower<'_> {
    fn leaf(&mut self, path: &Path<'_>) -> Result<(), Error> {
        self.leaves += 1;
        if self.leaves > self.limits.max_leaves {
            return Err(Error::Limit {
                limit: limit::LEAVES,
                field: path.render(),
                message: format!("a target holds at most {} leaves", self.limits.max_leaves),
            });
        }
        Ok(())
    }

    /// One more level of `not` / `and` / `or` below `level`, within the depth limit.
    fn nest(&self, level: usize, path: &Path<'_>) -> Result<usize, Error> {
        if level >= self.limits.max_depth {
            return Err(Error::Limit {
                limit: limit::DEPTH,
                field: path.render(),
                message: format!("conditions nest at most {} deep", self.limits.max_depth),
            });
        }
        Ok(level + 1)
    }

    fn non_empty<T>(list: &[T], path: &Path<'_>) -> Result<(), Error> {
        if list.is_empty() {
            return Err(Error::Invalid {
                field: path.render(),
                message: "the list must not be empty".to_owned(),
            });
        }
        Ok(())
    }

    fn slot(&self, name: &str, path: &Path<'_>) -> Result<u8, Error> {
        self.index.slot(name).ok_or_else(|| Error::Invalid {
            field: path.render(),
            message: format!("unknown attribute name {name:?}"),
        })
    }

    fn value(&self, value: &str, path: &Path<'_>) -> Result<(), Error> {
        check_text(Text::Value, value, self.limits, || path.render(), None)
    }

    fn tags(&mut self, tags: &[String], field: &'static str) -> Result<Vec<Node>, Error> {
        let root = Path::Root(field);
        Self::non_empty(tags, &root)?;
        let mut nodes = Vec::with_capacity(tags.len());
        for (i, tag) in tags.iter().enumerate() {
            let path = root.index(i);
            self.leaf(&path)?;
            check_text(Text::Tag, tag, self.limits, || path.render(), None)?;
            nodes.push(Node::Set(Set::Tag(tag.clone())));
        }
        Ok(nodes)
    }

    fn pairs(
        &mut self,
        pairs: &[(String, String)],
        field: &'static str,
    ) -> Result<Vec<Node>, Error> {
        let root = Path::Root(field);
        Self::non_empty(pairs, &root)?;
        let mut nodes = Vec::with_capacity(pairs.len());
        for (i, (name, value)) in pairs.iter().enumerate() {
            let path = root.index(i);
            self.leaf(&path)?;
            let slot = self.slot(name, &path.field("name"))?;
            self.value(value, &path.field("value"))?;
            nodes.push(equal(slot, value));
        }
        Ok(nodes)
    }

    /// Lowers a condition found at `path`, `level` deep in `not` / `and` / `or`.
    fn lower(
        &mut self,
        condition: &Condition,
        level: usize,
        path: &Path<'_>,
    ) -> Result<Node, Error> {
        match condition {
            Condition::All => {
                self.leaf(path)?;
                Ok(Node::Set(Set::All))
            }
            Condition::Tag(tag) => {
                self.leaf(path)?;
                let path = path.field("tag");
                check_text(Text::Tag, tag, self.limits, || path.render(), None)?;
                Ok(Node::Set(Set::Tag(tag.clone())))
            }
            Condition::Exists(name) => {
                self.leaf(path)?;
                let slot = self.slot(name, &path.field("exists"))?;
                Ok(Node::Set(Set::Exists(slot)))
            }
            Condition::Attr { name, op } => {
                let path = path.field("attr");
                let slot = self.slot(name, &path.field("name"))?;
                self.attr(slot, op, &path)
            }
            Condition::Not(inner) => {
                let level = self.nest(level, path)?;
                Ok(not(self.lower(inner, level, &path.field("not"))?))
            }
            Condition::And(items) => {
                let level = self.nest(level, path)?;
                Ok(and(self.list(items, level, &path.field("and"))?))
            }
            Condition::Or(items) => {
                let level = self.nest(level, path)?;
                Ok(or(self.list(items, level, &path.field("or"))?))
            }
        }
    }

    fn list(
        &mut self,
        items: &[Condition],
        level: usize,
        path: &Path<'_>,
    ) -> Result<Vec<Node>, Error> {
        Self::non_empty(items, path)?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.lower(item, level, &path.index(i)))
            .collect()
    }

    /// Lowers one attribute comparison (`path` is the `attr` field).
    fn attr(&mut self, slot: u8, op: &AttrOp, path: &Path<'_>) -> Result<Node, Error> {
        /// What a single-literal comparison does with its literal.
        enum Test {
            Eq,
            Ne,
            Order(fn(f64) -> (Bound<f64>, Bound<f64>)),
        }
        let (value, field, test) = match op {
            AttrOp::In(values) => return self.any_of(slot, values, &path.field("in")),
            AttrOp::Eq(v) => (v, "eq", Test::Eq),
            AttrOp::Ne(v) => (v, "ne", Test::Ne),
            AttrOp::Lt(v) => (v, "lt", Test::Order(|x| (Unbounded, Excluded(x)))),
            AttrOp::Le(v) => (v, "le", Test::Order(|x| (Unbounded, Included(x)))),
            AttrOp::Gt(v) => (v, "gt", Test::Order(|x| (Excluded(x), Unbounded))),
            AttrOp::Ge(v) => (v, "ge", Test::Order(|x| (Included(x), Unbounded))),
        };
        self.leaf(path)?;
        self.value(value, &path.field(field))?;
        Ok(match test {
            Test::Eq => equal(slot, value),
            // Has a value, and not an equal one.
            Test::Ne => and(vec![Node::Set(Set::Exists(slot)), not(equal(slot, value))]),
            Test::Order(bounds) => match number(value) {
                Some(x) => {
                    let (lo, hi) = bounds(x);
                    Node::Range { slot, lo, hi }
                }
                // An ordering with a non-number is false for everyone.
                None => Node::Set(Set::Empty),
            },
        })
    }

    /// `in (...)`: the union of the equalities, each distinct value once.
    fn any_of(&mut self, slot: u8, values: &[String], path: &Path<'_>) -> Result<Node, Error> {
        Self::non_empty(values, path)?;
        let mut strings = BTreeSet::new();
        let mut numbers = Vec::new();
        for (i, value) in values.iter().enumerate() {
            let path = path.index(i);
            self.leaf(&path)?;
            self.value(value, &path)?;
            match number(value) {
                // + 0.0 turns -0.0 into 0.0, so the two count as one value.
                Some(x) => numbers.push(x + 0.0),
                None => {
                    strings.insert(value.as_str());
                }
            }
        }
        numbers.sort_by(f64::total_cmp);
        numbers.dedup();
        let points = numbers.into_iter().map(|x| point(slot, x));
        let strings = strings.into_iter().map(|value| {
            Node::Set(Set::Eq {
                slot,
                value: value.to_owned(),
            })
        });
        Ok(or(points.chain(strings).collect()))
    }
}

/// The accounts whose numeric `slot` value equals `x`.
fn point(slot: u8, x: f64) -> Node {
    Node::Range {
        slot,
        lo: Included(x),
        hi: Included(x),
    }
}

/// `slot = value`: numerically when the value is a number (which also covers the exact
/// string), otherwise as a string.
fn equal(slot: u8, value: &str) -> Node {
    match number(value) {
        Some(x) => point(slot, x),
        None => Node::Set(Set::Eq {
            slot,
            value: value.to_owned(),
        }),
    }
}

/// Every account not in `node` (a double negation cancels: index sets lie within `all`).
fn not(node: Node) -> Node {
    match node {
        Node::Set(Set::All) => Node::Set(Set::Empty),
        Node::Set(Set::Empty) => Node::Set(Set::All),
        Node::Not(inner) => *inner,
        node => Node::Not(Box::new(node)),
    }
}

/// The intersection of `nodes`, flattened, with `all` dropped, `empty` absorbing and the
/// ranges over one slot merged into one (an account has one value per slot).
fn and(nodes: Vec<Node>) -> Node {
    let mut list: Vec<Node> = Vec::with_capacity(nodes.len());
    for node in nodes.into_iter().flat_map(|node| match node {
        Node::And(inner) => inner,
        node => vec![node],
    }) {
        match node {
            Node::Set(Set::All) => {}
            Node::Set(Set::Empty) => return Node::Set(Set::Empty),
            Node::Range { slot, lo, hi } => {
                let same = list
                    .iter_mut()
                    .find(|n| matches!(n, Node::Range { slot: s, .. } if *s == slot));
                match same {
                    Some(Node::Range {
                        lo: was_lo,
                        hi: was_hi,
                        ..
                    }) => {
                        *was_lo = higher_start(*was_lo, lo);
                        *was_hi = lower_end(*was_hi, hi);
                        if is_empty(*was_lo, *was_hi) {
                            return Node::Set(Set::Empty);
                        }
                    }
                    _ => list.push(node),
                }
            }
            node => list.push(node),
        }
    }
    match list.len() {
        0 => Node::Set(Set::All),
        1 => list.remove(0),
        _ => Node::And(list),
    }
}

/// The tighter of two lower bounds.
fn higher_start(a: Bound<f64>, b: Bound<f64>) -> Bound<f64> {
    match (a, b) {
        (Unbounded, x) | (x, Unbounded) => x,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) if x != y => {
            if x > y {
                a
            } else {
                b
            }
        }
        (Included(_), x) | (x, Included(_)) => x,
        (Excluded(_), Excluded(_)) => a,
    }
}

/// The tighter of two upper bounds.
fn lower_end(a: Bound<f64>, b: Bound<f64>) -> Bound<f64> {
    match (a, b) {
        (Unbounded, x) | (x, Unbounded) => x,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) if x != y => {
            if x < y {
                a
            } else {
                b
            }
        }
        (Included(_), x) | (x, Included(_)) => x,
        (Excluded(_), Excluded(_)) => a,
    }
}

/// Whether no number lies within `lo..hi`.
fn is_empty(lo: Bound<f64>, hi: Bound<f64>) -> bool {
    match (lo, hi) {
        (Included(a), Included(b)) => a > b,
        (Included(a) | Excluded(a), Excluded(b)) | (Excluded(a), Included(b)) => a >= b,
        _ => false,
    }
}

/// The union of `nodes`, flattened, with `empty` dropped and `all` absorbing.
fn or(nodes: Vec<Node>) -> Node {
    let mut list = Vec::with_capacity(nodes.len());
    for node in nodes {
        match node {
            Node::Set(Set::Empty) => {}
            Node::Set(Set::All) => return Node::Set(Set::All),
            Node::Or(inner) => list.extend(inner),
            node => list.push(node),
        }
    }
    match list.len() {
        0 => Node::Set(Set::Empty),
        1 => list.remove(0),
        _ => Node::Or(list),
    }
}

#[cfg(test)]
mod tests {
    use super::super::naive::sample;
    use super::*;

    fn plan(target: Target) -> Result<Node, Error> {
        compile(&target, &sample(), &Limits::default()).map(|p| p.root)
    }

    fn where_(src: &str) -> Result<Node, Error> {
        plan(Target {
            where_: Some(src.into()),
            ..Target::default()
        })
    }

    fn condition(c: Condition) -> Result<Node, Error> {
        plan(Target {
            condition: Some(c),
            ..Target::default()
        })
    }

    fn invalid(result: Result<Node, Error>) -> String {
        match result {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    fn limited(result: Result<Node, Error>) -> (&'static str, String) {
        match result {
            Err(Error::Limit { limit, field, .. }) => (limit, field),
            other => panic!("expected LIMIT_EXCEEDED, got {other:?}"),
        }
    }

    fn tag(t: &str) -> Node {
        Node::Set(Set::Tag(t.into()))
    }

    fn attr(name: &str, op: AttrOp) -> Condition {
        Condition::Attr {
            name: name.into(),
            op,
        }
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn folds_and_flattens() {
        assert_eq!(plan(Target::default()).unwrap(), Node::Set(Set::All));
        assert_eq!(where_("all and not all").unwrap(), Node::Set(Set::Empty));
        assert_eq!(where_("not all or all").unwrap(), Node::Set(Set::All));
        assert_eq!(where_(r#"not not tag("a")"#).unwrap(), tag("a"));
        assert_eq!(
            where_(r#"all and not tag("muted")"#).unwrap(),
            Node::Not(Box::new(tag("muted")))
        );
        assert_eq!(
            where_(r#"tag("a") and not (tag("b") and all) and (tag("c") or not all)"#).unwrap(),
            Node::And(vec![tag("a"), Node::Not(Box::new(tag("b"))), tag("c")])
        );
        assert_eq!(
            plan(Target {
                tags_and: Some(strings(&["a"])),
                where_: Some(r#"tag("b") and tag("c")"#.into()),
                ..Target::default()
            })
            .unwrap(),
            Node::And(vec![tag("a"), tag("b"), tag("c")])
        );
        assert_eq!(where_(r#"level < "abc""#).unwrap(), Node::Set(Set::Empty));
    }

    #[test]
    fn lowers_comparisons() {
        let point = |x| Node::Range {
            slot: 4,
            lo: Included(x),
            hi: Included(x),
        };
        assert_eq!(where_("level = 3").unwrap(), point(3.0));
        assert_eq!(where_(r#"level = "3.0""#).unwrap(), point(3.0));
        assert_eq!(
            where_(r#"city = "X""#).unwrap(),
            Node::Set(Set::Eq {
                slot: 0,
                value: "X".into()
            })
        );
        assert_eq!(
            where_("level != 3").unwrap(),
            Node::And(vec![
                Node::Set(Set::Exists(4)),
                Node::Not(Box::new(point(3.0)))
            ])
        );
        assert_eq!(
            where_("level > -2.5").unwrap(),
            Node::Range {
                slot: 4,
                lo: Excluded(-2.5),
                hi: Unbounded
            }
        );
        assert_eq!(
            where_(r#"level in (3, "3.0", -0, 0, "b", "b")"#).unwrap(),
            Node::Or(vec![
                point(0.0),
                point(3.0),
                Node::Set(Set::Eq {
                    slot: 4,
                    value: "b".into()
                }),
            ])
        );
        assert_eq!(where_("level in (3.0)").unwrap(), point(3.0));
    }

    #[test]
    fn merges_ranges_over_one_slot() {
        let range = |slot, lo, hi| Node::Range { slot, lo, hi };
        assert_eq!(
            where_("level >= 50 and level < 60").unwrap(),
            range(4, Included(50.0), Excluded(60.0))
        );
        assert_eq!(
            where_("level > 1 and (level >= 1 and level <= 7) and level < 7").unwrap(),
            range(4, Excluded(1.0), Excluded(7.0))
        );
        assert_eq!(
            where_("level >= 3 and level <= 3").unwrap(),
            range(4, Included(3.0), Included(3.0))
        );
        assert_eq!(
            where_("level = 3 and level = 4").unwrap(),
            Node::Set(Set::Empty)
        );
        assert_eq!(
            where_("level > 3 and level <= 3").unwrap(),
            Node::Set(Set::Empty)
        );
        assert_eq!(
            where_("level > 5 and level < 3").unwrap(),
            Node::Set(Set::Empty)
        );
        assert_eq!(
            where_(r#"level > 1 and tag("a") and level < 5 and tier <= 2"#).unwrap(),
            Node::And(vec![
                range(4, Excluded(1.0), Excluded(5.0)),
                tag("a"),
                range(9, Unbounded, Included(2.0)),
            ])
        );
    }

    #[test]
    fn list_errors_name_the_item() {
        let target = |f: fn(&mut Target)| {
            let mut t = Target::default();
            f(&mut t);
            plan(t)
        };
        assert_eq!(
            invalid(target(|t| t.tags_and = Some(vec![]))),
            "target.tagsAnd"
        );
        assert_eq!(
            invalid(target(|t| t.tags_and = Some(strings(&["a", "", "c"])))),
            "target.tagsAnd[1]"
        );
        assert_eq!(
            limited(target(
                |t| t.tags_or = Some(vec!["a".into(), "b".into(), "x".repeat(51)])
            )),
            ("tagBytes", "target.tagsOr[2]".into())
        );
        assert_eq!(
            invalid(target(|t| t.attrs_or = Some(vec![]))),
            "target.attrsOr"
        );
        let err = target(|t| t.attrs_or = Some(vec![("nope".into(), "x".into())])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "target.attrsOr[0].name: unknown attribute name \"nope\""
        );
        assert_eq!(
            invalid(target(
                |t| t.attrs_and = Some(vec![("city".into(), String::new())])
            )),
            "target.attrsAnd[0].value"
        );
        assert_eq!(
            limited(target(|t| t.attrs_and = Some(vec![
                ("city".into(), "a".into()),
                ("city".into(), "v".repeat(51))
            ]))),
            ("valueBytes", "target.attrsAnd[1].value".into())
        );
        assert!(target(|t| t.tags_and = Some(vec!["x".repeat(50)])).is_ok());
    }

    #[test]
    fn where_errors_name_the_field_and_position() {
        let err = where_(r#"tag("a") and cty = "X""#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "target.where: at byte 13: unknown attribute name \"cty\""
        );
        assert_eq!(invalid(where_("exists(nope)")), "target.where");
        assert_eq!(
            where_(r#"tag("a") and (city = "X""#)
                .unwrap_err()
                .to_string(),
            "target.where: at byte 24: expected ')'"
        );
        assert_eq!(
            limited(where_(&"x".repeat(8193))),
            ("whereBytes", "target.where".into())
        );
        assert_eq!(
            limited(where_(&format!("tag(\"{}\")", "x".repeat(51)))),
            ("tagBytes", "target.where".into())
        );
    }

    #[test]
    fn condition_errors_name_the_path() {
        assert_eq!(
            invalid(condition(Condition::And(vec![]))),
            "target.condition.and"
        );
        assert_eq!(
            invalid(condition(Condition::And(vec![
                Condition::Tag("a".into()),
                attr("nope", AttrOp::Eq("1".into())),
            ]))),
            "target.condition.and[1].attr.name"
        );
        assert_eq!(
            invalid(condition(Condition::Not(Box::new(attr(
                "city",
                AttrOp::In(vec![])
            ))))),
            "target.condition.not.attr.in"
        );
        assert_eq!(
            limited(condition(Condition::Or(vec![attr(
                "city",
                AttrOp::In(vec!["a".into(), "v".repeat(51)])
            )]))),
            ("valueBytes", "target.condition.or[0].attr.in[1]".into())
        );
        assert_eq!(
            limited(condition(attr("level", AttrOp::Lt("9".repeat(51))))),
            ("valueBytes", "target.condition.attr.lt".into())
        );
        assert_eq!(
            invalid(condition(attr("city", AttrOp::Ne(String::new())))),
            "target.condition.attr.ne"
        );
        assert_eq!(
            invalid(condition(Condition::Tag(String::new()))),
            "target.condition.tag"
        );
        assert_eq!(
            invalid(condition(Condition::Or(vec![Condition::Exists(
                "nope".into()
            )]))),
            "target.condition.or[0].exists"
        );
    }

    #[test]
    fn condition_depth_is_capped_exactly() {
        let nested = |n: usize| {
            (0..n).fold(Condition::All, |c, i| match i % 3 {
                0 => Condition::Not(Box::new(c)),
                1 => Condition::And(vec![c, Condition::All]),
                _ => Condition::Or(vec![Condition::Tag("a".into()), c]),
            })
        };
        assert!(condition(nested(64)).is_ok());
        let (limit, field) = limited(condition(nested(65)));
        assert_eq!(limit, "conditionDepth");
        assert!(
            field.starts_with("target.condition.and[0].not.or[1]."),
            "{field}"
        );
        let (limit, field) = limited(condition(nested(1000)));
        assert_eq!(limit, "conditionDepth");
        assert!(
            field.starts_with("target.condition.not.or[1].and[0].not."),
            "{field}"
        );
    }

    #[test]
    fn leaves_are_counted_over_the_whole_target() {
        let tags = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();
        assert!(
            plan(Target {
                tags_or: Some(tags(1024)),
                ..Target::default()
            })
            .is_ok()
        );
        assert_eq!(
            limited(plan(Target {
                tags_or: Some(tags(1025)),
                ..Target::default()
            })),
            ("conditionLeaves", "target.tagsOr[1024]".into())
        );
        assert_eq!(
            limited(plan(Target {
                tags_and: Some(tags(1000)),
                condition: Some(attr("city", AttrOp::In(strings(&["a"; 30])))),
                ..Target::default()
            })),
            ("conditionLeaves", "target.condition.attr.in[24]".into())
        );
        assert_eq!(
            limited(plan(Target {
                tags_and: Some(tags(1020)),
                where_: Some("level in (1, 2, 3, 4, 5)".into()),
                ..Target::default()
            })),
            ("conditionLeaves", "target.where".into())
        );
    }
}
