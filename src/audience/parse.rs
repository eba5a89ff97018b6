//! The `where` language (grammar in the module doc): a lexer and a hand-written
//! recursive-descent parser that checks nesting before every recursion, so no input can
//! make it panic or exhaust the stack.

use super::{AttrOp, Condition, Error, Limits, Text, check_text, limit, number};

/// The GraphQL field every `where` error names.
const FIELD: &str = "target.where";

/// Parses a `where` text into its condition tree, checking syntax, nesting, leaf count and
/// tag/value sizes (attribute names are checked later, against the app's names).
pub fn parse(src: &str, limits: &Limits) -> Result<Condition, Error> {
    parse_with(src, limits, None)
}

/// [`parse`], also refusing attribute names that `known` rejects, with their position.
pub(super) fn parse_with(
    src: &str,
    limits: &Limits,
    known: Option<&dyn Fn(&str) -> bool>,
) -> Result<Condition, Error> {
    if src.len() > limits.max_where_bytes {
        return Err(Error::Limit {
            limit: limit::WHERE_BYTES,
            field: FIELD.into(),
            message: format!(
                "the text is at most {} bytes, got {}",
                limits.max_where_bytes,
                src.len()
            ),
        });
    }
    let mut parser = Parser {
        tokens: lex(src)?,
        pos: 0,
        limits,
        leaves: 0,
        known,
    };
    let (condition, _) = parser.or(0)?;
    match parser.peek() {
        Tok::End => Ok(condition),
        _ => Err(parser.expected("'and', 'or' or the end")),
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// One lexical token; keywords, names and bare numbers are all words, told apart by
/// the parser from their place.
#[derive(Debug, Clone, PartialEq)]
enum Tok<'s> {
    Open,
    Close,
    Comma,
    Cmp(Cmp),
    Str(String),
    Word(&'s str),
    End,
}

/// A token and the byte offset where it starts.
#[derive(Debug)]
struct Token<'s> {
    tok: Tok<'s>,
    at: usize,
}

/// Characters a word (name, keyword or bare number) is made of.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '+')
}

fn syntax(at: usize, message: impl Into<String>) -> Error {
    Error::Syntax {
        field: FIELD.into(),
        at,
        message: message.into(),
    }
}

/// Splits the text into tokens, ending with [`Tok::End`] at its length.
fn lex(src: &str) -> Result<Vec<Token<'_>>, Error> {
    let mut tokens = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let tok = match c {
            c if c.is_whitespace() => continue,
            '(' => Tok::Open,
            ')' => Tok::Close,
            ',' => Tok::Comma,
            '=' => Tok::Cmp(Cmp::Eq),
            '!' => match chars.next_if(|&(_, c)| c == '=') {
                Some(_) => Tok::Cmp(Cmp::Ne),
                None => return Err(syntax(at, "expected '=' after '!'")),
            },
            '<' => match chars.next_if(|&(_, c)| c == '=') {
                Some(_) => Tok::Cmp(Cmp::Le),
                None => Tok::Cmp(Cmp::Lt),
            },
            '>' => match chars.next_if(|&(_, c)| c == '=') {
                Some(_) => Tok::Cmp(Cmp::Ge),
                None => Tok::Cmp(Cmp::Gt),
            },
            '"' => {
                let mut text = String::new();
                loop {
                    match chars.next() {
                        None => return Err(syntax(at, "unterminated string")),
                        Some((_, '"')) => break,
                        Some((escape, '\\')) => match chars.next() {
                            Some((_, c @ ('"' | '\\'))) => text.push(c),
                            _ => return Err(syntax(escape, r#"expected '"' or '\' after '\'"#)),
                        },
                        Some((_, c)) => text.push(c),
                    }
                }
                Tok::Str(text)
            }
            c if is_word_char(c) => {
                let mut end = at + c.len_utf8();
                while let Some((i, c)) = chars.next_if(|&(_, c)| is_word_char(c)) {
                    end = i + c.len_utf8();
                }
                Tok::Word(&src[at..end])
            }
            c => return Err(syntax(at, format!("unexpected character {c:?}"))),
        };
        tokens.push(Token { tok, at });
    }
    tokens.push(Token {
        tok: Tok::End,
        at: src.len(),
    });
    Ok(tokens)
}

/// Parser state over the token list; `leaves` counts leaves against the limit.
struct Parser<'s, 'l> {
    tokens: Vec<Token<'s>>,
    pos: usize,
    limits: &'l Limits,
    leaves: usize,
    known: Option<&'l dyn Fn(&str) -> bool>,
}

/// A parsed condition and its height (nesting of `not` / `and` / `or`; a leaf is 0).
type Parsed = (Condition, usize);

impl<'s> Parser<'s, '_> {
    /// The token `ahead` places after the current one ([`Tok::End`] past the end).
    fn peek_at(&self, ahead: usize) -> &Tok<'s> {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.pos + ahead).min(last)].tok
    }

    fn peek(&self) -> &Tok<'s> {
        self.peek_at(0)
    }

    fn at(&self) -> usize {
        self.tokens[self.pos.min(self.tokens.len() - 1)].at
    }

    fn bump(&mut self) {
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
    }

    fn expected(&self, what: &str) -> Error {
        syntax(self.at(), format!("expected {what}"))
    }

    /// Whether the current token is the keyword `kw` (any case).
    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    /// Whether the current word starts a comparison (`name op value` or `name in (`),
    /// which makes it an attribute name even when it is spelled like a keyword.
    fn starts_comparison(&self) -> bool {
        match self.peek_at(1) {
            Tok::Cmp(_) => true,
            Tok::Word(w) => w.eq_ignore_ascii_case("in") && *self.peek_at(2) == Tok::Open,
            _ => false,
        }
    }

    fn expect(&mut self, tok: &Tok<'_>, what: &str) -> Result<(), Error> {
        if self.peek() == tok {
            self.bump();
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    /// Checks that one more level of nesting at `at` stays within the depth limit.
    fn nest(&self, level: usize, at: usize) -> Result<usize, Error> {
        if level >= self.limits.max_depth {
            return Err(Error::Limit {
                limit: limit::DEPTH,
                field: FIELD.into(),
                message: format!(
                    "at byte {at}: conditions nest at most {} deep",
                    self.limits.max_depth
                ),
            });
        }
        Ok(level + 1)
    }

    /// Counts one leaf at `at` against the leaf limit.
    fn leaf(&mut self, at: usize) -> Result<(), Error> {
        self.leaves += 1;
        if self.leaves > self.limits.max_leaves {
            return Err(Error::Limit {
                limit: limit::LEAVES,
                field: FIELD.into(),
                message: format!(
                    "at byte {at}: a target holds at most {} leaves",
                    self.limits.max_leaves
                ),
            });
        }
        Ok(())
    }

    /// `or = and { "or" and }`; `level` is the current nesting.
    fn or(&mut self, level: usize) -> Result<Parsed, Error> {
        let at = self.at();
        let mut items = vec![self.and(level)?];
        while self.keyword("or") {
            self.bump();
            items.push(self.and(level)?);
        }
        self.join(items, false, at)
    }

    /// `and = unary { "and" unary }`.
    fn and(&mut self, level: usize) -> Result<Parsed, Error> {
        let at = self.at();
        let mut items = vec![self.unary(level)?];
        while self.keyword("and") {
            self.bump();
            items.push(self.unary(level)?);
        }
        self.join(items, true, at)
    }

    /// Builds an `and` (or `or`) of `items`, splicing operands of the same kind (from
    /// parentheses) so redundant grouping does not count as nesting.
    fn join(&self, mut items: Vec<Parsed>, is_and: bool, at: usize) -> Result<Parsed, Error> {
        if items.len() == 1 {
            return Ok(items.remove(0));
        }
        let mut list = Vec::with_capacity(items.len());
        let mut inner = 0;
        for (item, height) in items {
            match item {
                Condition::And(xs) if is_and => {
                    list.extend(xs);
                    inner = inner.max(height.saturating_sub(1));
                }
                Condition::Or(xs) if !is_and => {
                    list.extend(xs);
                    inner = inner.max(height.saturating_sub(1));
                }
                other => {
                    list.push(other);
                    inner = inner.max(height);
                }
            }
        }
        let height = self.nest(inner, at)?;
        let joined = if is_and {
            Condition::And(list)
        } else {
            Condition::Or(list)
        };
        Ok((joined, height))
    }

    /// `unary = "not" unary | primary`.
    fn unary(&mut self, level: usize) -> Result<Parsed, Error> {
        if self.keyword("not") && !self.starts_comparison() {
            let at = self.at();
            let level = self.nest(level, at)?;
            self.bump();
            let (inner, height) = self.unary(level)?;
            let height = self.nest(height, at)?;
            return Ok((Condition::Not(Box::new(inner)), height));
        }
        self.primary(level)
    }

    /// `primary`: a parenthesized condition, `all`, `tag(..)`, `exists(..)` or a comparison.
    fn primary(&mut self, level: usize) -> Result<Parsed, Error> {
        let at = self.at();
        let word = match self.peek() {
            Tok::Open => {
                let level = self.nest(level, at)?;
                self.bump();
                let parsed = self.or(level)?;
                self.expect(&Tok::Close, "')'")?;
                return Ok(parsed);
            }
            Tok::Word(w) => *w,
            _ => return Err(self.expected("a condition")),
        };
        if self.starts_comparison() {
            return self.comparison(word);
        }
        let is = |kw: &str| word.eq_ignore_ascii_case(kw);
        if is("all") {
            self.leaf(at)?;
            self.bump();
            Ok((Condition::All, 0))
        } else if is("tag") {
            self.leaf(at)?;
            self.bump();
            self.expect(&Tok::Open, "'(' after tag")?;
            let tag_at = self.at();
            let Tok::Str(tag) = self.peek().clone() else {
                return Err(self.expected("a quoted tag"));
            };
            check_text(Text::Tag, &tag, self.limits, || FIELD.into(), Some(tag_at))?;
            self.bump();
            self.expect(&Tok::Close, "')'")?;
            Ok((Condition::Tag(tag), 0))
        } else if is("exists") {
            self.leaf(at)?;
            self.bump();
            self.expect(&Tok::Open, "'(' after exists")?;
            let Tok::Word(name) = *self.peek() else {
                return Err(self.expected("an attribute name"));
            };
            self.check_name(name)?;
            self.bump();
            self.expect(&Tok::Close, "')'")?;
            Ok((Condition::Exists(name.to_owned()), 0))
        } else if ["and", "or", "not", "in"].iter().any(|kw| is(kw)) {
            Err(self.expected("a condition"))
        } else {
            self.bump();
            Err(self.expected("a comparison operator or 'in'"))
        }
    }

    /// Refuses an attribute name the app does not have, pointing at it.
    fn check_name(&self, name: &str) -> Result<(), Error> {
        match self.known {
            Some(known) if !known(name) => Err(Error::Invalid {
                field: FIELD.into(),
                message: format!("at byte {}: unknown attribute name {name:?}", self.at()),
            }),
            _ => Ok(()),
        }
    }

    /// `name cmp value` or `name in (value, ...)`; the current token is `name`.
    fn comparison(&mut self, name: &str) -> Result<Parsed, Error> {
        self.check_name(name)?;
        self.bump();
        let op = match *self.peek() {
            Tok::Cmp(cmp) => {
                self.leaf(self.at())?;
                self.bump();
                let value = self.value()?;
                match cmp {
                    Cmp::Eq => AttrOp::Eq(value),
                    Cmp::Ne => AttrOp::Ne(value),
                    Cmp::Lt => AttrOp::Lt(value),
                    Cmp::Le => AttrOp::Le(value),
                    Cmp::Gt => AttrOp::Gt(value),
                    Cmp::Ge => AttrOp::Ge(value),
                }
            }
            _ => {
                // starts_comparison saw `in (`.
                self.bump();
                self.bump();
                let mut values = Vec::new();
                loop {
                    self.leaf(self.at())?;
                    values.push(self.value()?);
                    match self.peek() {
                        Tok::Comma => self.bump(),
                        Tok::Close => break self.bump(),
                        _ => return Err(self.expected("',' or ')'")),
                    }
                }
                AttrOp::In(values)
            }
        };
        Ok((
            Condition::Attr {
                name: name.to_owned(),
                op,
            },
            0,
        ))
    }

    /// A literal: a quoted string or a bare number.
    fn value(&mut self) -> Result<String, Error> {
        let at = self.at();
        let value = match self.peek() {
            Tok::Str(s) => s.clone(),
            Tok::Word(w) if number(w).is_some() => (*w).to_owned(),
            _ => return Err(self.expected("a quoted string or a number")),
        };
        check_text(Text::Value, &value, self.limits, || FIELD.into(), Some(at))?;
        self.bump();
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(src: &str) -> Result<Condition, Error> {
        parse(src, &Limits::default())
    }

    fn tag(t: &str) -> Condition {
        Condition::Tag(t.into())
    }

    fn attr(name: &str, op: AttrOp) -> Condition {
        Condition::Attr {
            name: name.into(),
            op,
        }
    }

    fn not(c: Condition) -> Condition {
        Condition::Not(Box::new(c))
    }

    /// The (byte offset, message) of a syntax error.
    fn syntax_err(src: &str) -> (usize, String) {
        match p(src) {
            Err(Error::Syntax { field, at, message }) => {
                assert_eq!(field, "target.where");
                (at, message)
            }
            other => panic!("{src:?}: expected a syntax error, got {other:?}"),
        }
    }

    fn limit_err(src: &str, limits: &Limits) -> &'static str {
        match parse(src, limits) {
            Err(Error::Limit { limit, field, .. }) => {
                assert_eq!(field, "target.where");
                limit
            }
            other => panic!("{src:?}: expected a limit error, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_api_examples() {
        assert_eq!(
            p(r#"tag("stock A") and (city = "Shenzhen" or not tag("vip"))"#).unwrap(),
            Condition::And(vec![
                tag("stock A"),
                Condition::Or(vec![
                    attr("city", AttrOp::Eq("Shenzhen".into())),
                    not(tag("vip")),
                ]),
            ])
        );
        assert_eq!(
            p(r#"tier in ("gold", "platinum") and exists(city)"#).unwrap(),
            Condition::And(vec![
                attr("tier", AttrOp::In(vec!["gold".into(), "platinum".into()])),
                Condition::Exists("city".into()),
            ])
        );
        assert_eq!(
            p("level >= 3").unwrap(),
            attr("level", AttrOp::Ge("3".into()))
        );
        assert_eq!(
            p(r#"all and not tag("muted")"#).unwrap(),
            Condition::And(vec![Condition::All, not(tag("muted"))])
        );
    }

    #[test]
    fn every_operator_parses() {
        for (src, op) in [
            ("x = 1", AttrOp::Eq("1".into())),
            ("x != \"a\"", AttrOp::Ne("a".into())),
            ("x < -2.5", AttrOp::Lt("-2.5".into())),
            ("x <= 1e3", AttrOp::Le("1e3".into())),
            ("x > +4", AttrOp::Gt("+4".into())),
            ("x >= .5", AttrOp::Ge(".5".into())),
            ("x in (1)", AttrOp::In(vec!["1".into()])),
            (
                "x IN (1,\"b\" , 2)",
                AttrOp::In(vec!["1".into(), "b".into(), "2".into()]),
            ),
            ("x=1", AttrOp::Eq("1".into())),
        ] {
            assert_eq!(p(src).unwrap(), attr("x", op), "{src}");
        }
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        assert_eq!(
            p(r#"tag("a") or tag("b") and not tag("c")"#).unwrap(),
            Condition::Or(vec![
                tag("a"),
                Condition::And(vec![tag("b"), not(tag("c"))]),
            ])
        );
        assert_eq!(
            p(r#"NOT tag("a") AND tag("b") Or ALL"#).unwrap(),
            Condition::Or(vec![
                Condition::And(vec![not(tag("a")), tag("b")]),
                Condition::All,
            ])
        );
    }

    #[test]
    fn redundant_parentheses_are_spliced() {
        assert_eq!(
            p(r#"(tag("a") and (tag("b") and tag("c"))) and ((tag("d")))"#).unwrap(),
            Condition::And(vec![tag("a"), tag("b"), tag("c"), tag("d")])
        );
    }

    #[test]
    fn strings_unescape_and_names_may_be_unusual() {
        assert_eq!(
            p(r#"tag("say \"hi\" \\ ok")"#).unwrap(),
            tag(r#"say "hi" \ ok"#)
        );
        assert_eq!(
            p("城市 = \"深圳\"").unwrap(),
            attr("城市", AttrOp::Eq("深圳".into()))
        );
        assert_eq!(
            p("app.ver-2_x >= 2").unwrap(),
            attr("app.ver-2_x", AttrOp::Ge("2".into()))
        );
        assert_eq!(p("all = 1").unwrap(), attr("all", AttrOp::Eq("1".into())));
        assert_eq!(
            p("not in (\"a\")").unwrap(),
            attr("not", AttrOp::In(vec!["a".into()]))
        );
        assert_eq!(
            p("not tag = 1").unwrap(),
            not(attr("tag", AttrOp::Eq("1".into())))
        );
    }

    #[test]
    fn syntax_errors_name_the_byte() {
        assert_eq!(
            syntax_err(r#"(tag("a") or tag("b)"#),
            (17, "unterminated string".into())
        );
        assert_eq!(
            syntax_err(r#"(tag("a") or tag("b")"#),
            (21, "expected ')'".into())
        );
        assert_eq!(
            syntax_err(r#"tag("stock A") and (city = "X" "#),
            (31, "expected ')'".into())
        );
        assert_eq!(syntax_err(""), (0, "expected a condition".into()));
        assert_eq!(syntax_err("   "), (3, "expected a condition".into()));
        assert_eq!(
            syntax_err("city"),
            (4, "expected a comparison operator or 'in'".into())
        );
        assert_eq!(
            syntax_err("city = Shenzhen"),
            (7, "expected a quoted string or a number".into())
        );
        assert_eq!(
            syntax_err("x = 1 y = 2"),
            (6, "expected 'and', 'or' or the end".into())
        );
        assert_eq!(syntax_err("x ! 1"), (2, "expected '=' after '!'".into()));
        assert_eq!(
            syntax_err(r#"tag("a\n")"#),
            (6, r#"expected '"' or '\' after '\'"#.into())
        );
        assert_eq!(
            syntax_err("x = 1 & y"),
            (6, "unexpected character '&'".into())
        );
        assert_eq!(
            syntax_err("x in ()"),
            (6, "expected a quoted string or a number".into())
        );
        assert_eq!(syntax_err("x in (1 2)"), (8, "expected ',' or ')'".into()));
        assert_eq!(syntax_err("tag(vip)"), (4, "expected a quoted tag".into()));
        assert_eq!(
            syntax_err("tag \"a\""),
            (4, "expected '(' after tag".into())
        );
        assert_eq!(
            syntax_err("exists(\"a\")"),
            (7, "expected an attribute name".into())
        );
        assert_eq!(syntax_err("and"), (0, "expected a condition".into()));
        assert_eq!(syntax_err("not"), (3, "expected a condition".into()));
        assert_eq!(
            syntax_err("x = inf"),
            (4, "expected a quoted string or a number".into())
        );
        assert_eq!(syntax_err("x = 1 and"), (9, "expected a condition".into()));
    }

    #[test]
    fn texts_are_checked_with_their_position() {
        let long = "x".repeat(51);
        match p(&format!("tag(\"{long}\")")) {
            Err(Error::Limit { limit, message, .. }) => {
                assert_eq!(limit, "tagBytes");
                assert!(message.starts_with("at byte 4: "), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            limit_err(&format!("x = \"{long}\""), &Limits::default()),
            "valueBytes"
        );
        assert_eq!(
            limit_err(&format!("x in (1, {})", "1".repeat(51)), &Limits::default()),
            "valueBytes"
        );
        assert!(p(&format!("tag(\"{}\")", "x".repeat(50))).is_ok());
        for src in ["tag(\"\")", "x = \"\""] {
            match p(src) {
                Err(Error::Invalid { field, message }) => {
                    assert_eq!(field, "target.where");
                    assert!(message.contains("must not be empty"), "{message}");
                }
                other => panic!("{src}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_names_are_refused_with_their_position() {
        let known = |n: &str| n == "city";
        let err = parse_with("city = 1 or cty = 2", &Limits::default(), Some(&known)).unwrap_err();
        assert_eq!(
            err,
            Error::Invalid {
                field: "target.where".into(),
                message: "at byte 12: unknown attribute name \"cty\"".into(),
            }
        );
        let err = parse_with("exists(town)", &Limits::default(), Some(&known)).unwrap_err();
        assert!(err.to_string().contains("\"town\""), "{err}");
        assert!(parse_with("exists(city)", &Limits::default(), Some(&known)).is_ok());
    }

    #[test]
    fn depth_is_capped_exactly() {
        let limits = Limits::default();
        let nots = |n: usize| format!("{}all", "not ".repeat(n));
        assert!(parse(&nots(64), &limits).is_ok());
        assert_eq!(limit_err(&nots(65), &limits), "conditionDepth");
        let parens = |n: usize| format!("{}all{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&parens(64), &limits).is_ok());
        assert_eq!(limit_err(&parens(65), &limits), "conditionDepth");
        // `or` over `and` in each parenthesis level: two levels of tree per level.
        let mut src = "all".to_owned();
        let mut want = Condition::All;
        for _ in 0..32 {
            src = format!("all or all and ({src})");
            want = Condition::Or(vec![
                Condition::All,
                Condition::And(vec![Condition::All, want]),
            ]);
        }
        assert_eq!(parse(&src, &limits).unwrap(), want);
        assert_eq!(
            limit_err(&format!("not ({src})"), &limits),
            "conditionDepth"
        );
    }

    #[test]
    fn huge_nesting_fails_cleanly() {
        let limits = Limits {
            max_where_bytes: usize::MAX,
            ..Limits::default()
        };
        for src in [
            "(".repeat(200_000),
            "not ".repeat(200_000),
            format!("{}all{}", "(".repeat(100_000), ")".repeat(100_000)),
        ] {
            assert_eq!(limit_err(&src, &limits), "conditionDepth");
        }
    }

    #[test]
    fn size_and_leaf_limits() {
        let limits = Limits {
            max_leaves: 3,
            max_where_bytes: 20,
            ..Limits::default()
        };
        assert_eq!(limit_err(&"a".repeat(21), &limits), "whereBytes");
        assert!(parse("x in (1,2,3)", &limits).is_ok());
        assert_eq!(limit_err("x in (1,2,3,4)", &limits), "conditionLeaves");
        assert_eq!(
            limit_err(
                "all or all or all or all",
                &Limits {
                    max_leaves: 3,
                    ..Limits::default()
                }
            ),
            "conditionLeaves"
        );
    }
}
