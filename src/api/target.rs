//! GraphQL input for targeting (API.md "Targeting"): plain data converted into
//! [`audience::Target`]; all meaning and validation live in `audience`.

use async_graphql::{InputObject, OneofObject};

use crate::audience::{self, AttrOp, Condition, Target};

/// Who a push (or `audienceSize`) is for. Every field is optional; the fields given must
/// all hold, and none selects every account.
#[derive(Debug, Clone, Default, InputObject)]
pub(super) struct TargetInput {
    /// Accounts holding every one of these tags.
    pub(super) tags_and: Option<Vec<String>>,
    /// Accounts holding any of these tags.
    pub(super) tags_or: Option<Vec<String>>,
    /// Accounts matching every `name = value` pair.
    pub(super) attrs_and: Option<Vec<AttributeInput>>,
    /// Accounts matching any `name = value` pair.
    pub(super) attrs_or: Option<Vec<AttributeInput>>,
    /// A condition in the targeting language, e.g. `tag("vip") and level >= 3`.
    #[graphql(name = "where")]
    pub(super) where_: Option<String>,
    /// The same condition tree as structured input, for programs that build conditions.
    pub(super) condition: Option<ConditionInput>,
}

/// An attribute name and a value.
#[derive(Debug, Clone, InputObject)]
pub(super) struct AttributeInput {
    /// The app attribute name.
    pub(super) name: String,
    /// The value (1..50 bytes).
    pub(super) value: String,
}

/// One node of a structured condition: exactly one field is set.
#[derive(Debug, Clone, OneofObject)]
pub(super) enum ConditionInput {
    /// Every account (must be `true`).
    All(bool),
    /// Accounts holding this tag.
    Tag(String),
    /// Accounts whose attribute passes one comparison.
    Attr(AttributeConditionInput),
    /// Accounts that have a value for this attribute name.
    Exists(String),
    /// Accounts not matching the condition.
    Not(Box<ConditionInput>),
    /// Accounts matching every condition.
    And(Vec<ConditionInput>),
    /// Accounts matching any condition.
    Or(Vec<ConditionInput>),
}

/// An attribute comparison: `name` and exactly one operator. Comparisons are numeric when
/// both sides are numbers; an account without the attribute never matches.
#[derive(Debug, Clone, InputObject)]
pub(super) struct AttributeConditionInput {
    /// The app attribute name.
    pub(super) name: String,
    /// Equal to.
    pub(super) eq: Option<String>,
    /// Has a value, not equal to this one.
    pub(super) ne: Option<String>,
    /// Less than (numbers only).
    pub(super) lt: Option<String>,
    /// Less than or equal (numbers only).
    pub(super) le: Option<String>,
    /// Greater than (numbers only).
    pub(super) gt: Option<String>,
    /// Greater than or equal (numbers only).
    pub(super) ge: Option<String>,
    /// Equal to any of these.
    #[graphql(name = "in")]
    pub(super) in_: Option<Vec<String>>,
}

impl TryFrom<TargetInput> for Target {
    type Error = audience::Error;

    /// Fails only on shapes GraphQL cannot rule out (an `attr` without exactly one
    /// operator, `all: false`); everything else is checked by [`audience::compile`].
    fn try_from(input: TargetInput) -> Result<Self, Self::Error> {
        let pairs = |list: Option<Vec<AttributeInput>>| {
            list.map(|list| list.into_iter().map(|a| (a.name, a.value)).collect())
        };
        Ok(Target {
            tags_and: input.tags_and,
            tags_or: input.tags_or,
            attrs_and: pairs(input.attrs_and),
            attrs_or: pairs(input.attrs_or),
            where_: input.where_,
            condition: input
                .condition
                .map(|c| c.into_condition("target.condition"))
                .transpose()?,
        })
    }
}

impl ConditionInput {
    /// Converts the node found at GraphQL field `path`.
    fn into_condition(self, path: &str) -> Result<Condition, audience::Error> {
        let invalid = |field: String, message: &str| audience::Error::Invalid {
            field,
            message: message.to_owned(),
        };
        let list = |items: Vec<ConditionInput>, field: String| {
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| item.into_condition(&format!("{field}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(match self {
            ConditionInput::All(true) => Condition::All,
            ConditionInput::All(false) => {
                return Err(invalid(format!("{path}.all"), "must be true"));
            }
            ConditionInput::Tag(tag) => Condition::Tag(tag),
            ConditionInput::Exists(name) => Condition::Exists(name),
            ConditionInput::Not(inner) => {
                Condition::Not(Box::new(inner.into_condition(&format!("{path}.not"))?))
            }
            ConditionInput::And(items) => Condition::And(list(items, format!("{path}.and"))?),
            ConditionInput::Or(items) => Condition::Or(list(items, format!("{path}.or"))?),
            ConditionInput::Attr(attr) => {
                let ops = [
                    attr.eq.map(AttrOp::Eq),
                    attr.ne.map(AttrOp::Ne),
                    attr.lt.map(AttrOp::Lt),
                    attr.le.map(AttrOp::Le),
                    attr.gt.map(AttrOp::Gt),
                    attr.ge.map(AttrOp::Ge),
                    attr.in_.map(AttrOp::In),
                ];
                let mut ops = ops.into_iter().flatten();
                match (ops.next(), ops.next()) {
                    (Some(op), None) => Condition::Attr {
                        name: attr.name,
                        op,
                    },
                    _ => {
                        return Err(invalid(
                            format!("{path}.attr"),
                            "give exactly one of eq, ne, lt, le, gt, ge, in",
                        ));
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    use super::*;
    use crate::error::Classify;

    struct Query;

    #[Object]
    impl Query {
        /// Echoes the converted target, or the conversion error's field.
        async fn target(&self, target: TargetInput) -> String {
            match Target::try_from(target) {
                Ok(t) => format!("{t:?}"),
                Err(e) => format!("error {:?}", e.classify().field),
            }
        }
    }

    async fn run(args: &str) -> String {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let res = schema
            .execute(format!("{{ target(target: {args}) }}"))
            .await;
        assert!(res.errors.is_empty(), "{:?}", res.errors);
        res.data.into_json().unwrap()["target"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn converts_every_field() {
        let got = run(r#"{
            tagsAnd: ["a", "b"], tagsOr: ["c"],
            attrsAnd: [{name: "city", value: "X"}], attrsOr: [{name: "tier", value: "gold"}],
            where: "level >= 3",
            condition: {and: [{tag: "vip"}, {not: {attr: {name: "tier", in: ["a", "b"]}}},
                              {exists: "city"}, {all: true}, {or: [{attr: {name: "level", lt: "3"}}]}]}
        }"#).await;
        let want = Target {
            tags_and: Some(vec!["a".into(), "b".into()]),
            tags_or: Some(vec!["c".into()]),
            attrs_and: Some(vec![("city".into(), "X".into())]),
            attrs_or: Some(vec![("tier".into(), "gold".into())]),
            where_: Some("level >= 3".into()),
            condition: Some(Condition::And(vec![
                Condition::Tag("vip".into()),
                Condition::Not(Box::new(Condition::Attr {
                    name: "tier".into(),
                    op: AttrOp::In(vec!["a".into(), "b".into()]),
                })),
                Condition::Exists("city".into()),
                Condition::All,
                Condition::Or(vec![Condition::Attr {
                    name: "level".into(),
                    op: AttrOp::Lt("3".into()),
                }]),
            ])),
        };
        assert_eq!(got, format!("{want:?}"));
        assert_eq!(run("{}").await, format!("{:?}", Target::default()));
    }

    #[tokio::test]
    async fn refuses_bad_shapes_naming_the_field() {
        assert_eq!(
            run(r#"{condition: {and: [{tag: "a"}, {attr: {name: "x"}}]}}"#).await,
            r#"error Some("target.condition.and[1].attr")"#
        );
        assert_eq!(
            run(r#"{condition: {not: {attr: {name: "x", eq: "1", ne: "2"}}}}"#).await,
            r#"error Some("target.condition.not.attr")"#
        );
        assert_eq!(
            run(r#"{condition: {or: [{all: false}]}}"#).await,
            r#"error Some("target.condition.or[0].all")"#
        );
    }

    #[test]
    fn schema_spells_the_api_names() {
        let sdl = Schema::new(Query, EmptyMutation, EmptySubscription).sdl();
        for needle in [
            "tagsAnd: [String!]",
            "attrsOr: [AttributeInput!]",
            "where: String",
            "condition: ConditionInput",
            "input ConditionInput @oneOf",
            "in: [String!]",
        ] {
            assert!(sdl.contains(needle), "{needle} missing in\n{sdl}");
        }
    }
}
