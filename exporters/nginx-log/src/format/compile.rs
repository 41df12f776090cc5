//! Compiling a format string: tokens (literals and `$variables`), then steps (each variable
//! with the literal that ends it), then the fused steps the hot path walks (each variable with
//! the literal before it) and the [`Scan`](crate::bytes::scan::Scan) classes of the field ends.

use crate::bytes::scan::{Classes, MAX_CLASSES};
use crate::record::Field;

use super::builtin::{Builtin, COMBINED, FORUM};
use super::lit::Lit;

/// Why a format string cannot be compiled.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CompileError {
    /// Two variables follow each other with nothing between them to tell where one ends.
    #[error("variables ${0} and ${1} are adjacent: nothing tells where the first one ends")]
    AdjacentVariables(String, String),
    /// A `$` with no variable name, or an unclosed `${`.
    #[error("invalid variable at byte {0} of the format")]
    BadVariable(usize),
    /// The format captures neither `$request` nor `$request_uri`/`$uri`, or lacks `$status`.
    #[error("the format must contain $status and one of $request, $request_uri or $uri")]
    MissingFields,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Step {
    Literal(Vec<u8>),
    /// A variable and the literal that ends it (`None`: the rest of the line).
    Var {
        name: String,
        field: Option<Field>,
        until: Until,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Until {
    /// The next occurrence of this literal.
    Next(Vec<u8>),
    /// This literal, which must end the line.
    LineEnd(Vec<u8>),
    /// The end of the line.
    End,
}

/// The hot path's form of the steps: each variable fused with the literal before it, so a
/// line is one pass over a few of these.
#[derive(Clone, Debug)]
pub(super) struct Fused {
    pub before: Lit,
    /// `before` is the literal the previous step's search just found: skip it unchecked.
    pub known: bool,
    pub field: Option<Field>,
    pub kind: Kind,
    /// The literal that ends the variable (empty for [`Kind::End`]).
    pub until: Lit,
    /// Index of the field in a [`Fields`] array ([`NO_FIELD`] for variables not kept).
    pub slot: usize,
    /// For [`Kind::Next`]: the [`Scan`] class of the first byte of `until`.
    pub class: usize,
    /// `until` is one byte: a byte of its class is a match.
    pub single: bool,
}

/// The fields of a line by [`Field`] discriminant, plus one slot for the variables not kept.
pub(super) type Fields<'a> = [&'a [u8]; NO_FIELD + 1];

/// The slot of the variables the exporter does not keep.
pub(super) const NO_FIELD: usize = 10;

/// The [`Scan`] classes of a format, by how many distinct bytes start its field ends.
#[derive(Clone, Debug)]
pub(super) enum ScanPlan {
    One(Classes<1>),
    Two(Classes<2>),
    Three(Classes<3>),
    Four(Classes<4>),
}

/// [`Until`] without its literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Next,
    LineEnd,
    End,
}

/// A format compiled: the steps (the reference walk, and the source of mismatch messages), the
/// same steps fused for the hot path, and how the hot path finds field ends.
#[derive(Clone, Debug)]
pub(super) struct Compiled {
    /// Literals and variables, in order.
    pub steps: Vec<Step>,
    /// Each variable with the literal before it.
    pub fused: Vec<Fused>,
    /// The delimiter classes, when the format has at most [`MAX_CLASSES`] (else the fused
    /// steps search field by field).
    pub plan: Option<Box<ScanPlan>>,
    /// A hand-written walk for a built-in format (same result as the generic one).
    pub builtin: Option<Builtin>,
}

impl Compiled {
    /// Compiles an nginx `log_format` string; the variable `source_var` (without `$`) feeds
    /// [`Field::Source`].
    pub fn new(source: &str, source_var: &str) -> Result<Compiled, CompileError> {
        let tokens = tokenize(source)?;
        // `$body_bytes_sent` wins over `$bytes_sent` when a format has both.
        let has_body_bytes_sent = tokens
            .iter()
            .any(|t| matches!(t, Token::Var(name) if name == "body_bytes_sent"));
        let mut steps = Vec::with_capacity(tokens.len());
        for (i, token) in tokens.iter().enumerate() {
            match token {
                Token::Literal(l) => steps.push(Step::Literal(l.clone())),
                Token::Var(name) => {
                    let until = match tokens.get(i + 1) {
                        None => Until::End,
                        Some(Token::Var(next)) => {
                            return Err(CompileError::AdjacentVariables(
                                name.clone(),
                                next.clone(),
                            ));
                        }
                        Some(Token::Literal(l)) if i + 2 == tokens.len() => {
                            Until::LineEnd(l.clone())
                        }
                        Some(Token::Literal(l)) => Until::Next(l.clone()),
                    };
                    let field = match Field::from_variable(name) {
                        _ if name == source_var => Some(Field::Source),
                        Some(_) if name == "bytes_sent" && has_body_bytes_sent => None,
                        field => field,
                    };
                    steps.push(Step::Var {
                        name: name.clone(),
                        field,
                        until,
                    });
                }
            }
        }
        let has = |f: Field| {
            steps
                .iter()
                .any(|s| matches!(s, Step::Var { field: Some(x), .. } if *x == f))
        };
        if !has(Field::Status) || !(has(Field::Request) || has(Field::Uri)) {
            return Err(CompileError::MissingFields);
        }
        let mut fused = Vec::new();
        let mut first_bytes: Vec<u8> = Vec::new();
        let mut before: Vec<u8> = Vec::new();
        let mut skip_next_literal = false;
        let mut found: Option<&[u8]> = None;
        for step in &steps {
            match step {
                Step::Literal(_) if skip_next_literal => skip_next_literal = false,
                Step::Literal(l) => before.extend_from_slice(l),
                Step::Var { field, until, .. } => {
                    skip_next_literal = matches!(until, Until::LineEnd(_));
                    let known = !before.is_empty() && found == Some(&before[..]);
                    found = match until {
                        Until::Next(lit) => Some(lit),
                        _ => None,
                    };
                    let (kind, lit) = match until {
                        Until::Next(l) => (Kind::Next, &l[..]),
                        Until::LineEnd(l) => (Kind::LineEnd, &l[..]),
                        Until::End => (Kind::End, &b""[..]),
                    };
                    let slot = field.map_or(NO_FIELD, |f| f as usize);
                    let class = match kind {
                        Kind::Next => match first_bytes.iter().position(|b| *b == lit[0]) {
                            Some(c) => c,
                            None => {
                                first_bytes.push(lit[0]);
                                first_bytes.len() - 1
                            }
                        },
                        _ => 0,
                    };
                    fused.push(Fused {
                        before: Lit::new(&std::mem::take(&mut before)),
                        known,
                        field: *field,
                        kind,
                        until: Lit::new(lit),
                        slot,
                        class,
                        single: lit.len() == 1,
                    });
                }
            }
        }
        let plan = match first_bytes.len() {
            0 | 1 => Some(ScanPlan::One(Classes::new(&[first_bytes
                .first()
                .copied()
                .unwrap_or(b'\n')]))),
            2 => Some(ScanPlan::Two(Classes::new(&first_bytes))),
            3 => Some(ScanPlan::Three(Classes::new(&first_bytes))),
            4 => Some(ScanPlan::Four(Classes::new(&first_bytes))),
            _ => None,
        };
        const _: () = assert!(MAX_CLASSES == 4);
        // The walks rely on it: only the last variable can end at the line's end, and nothing
        // follows it (a final literal is its `LineEnd`).
        assert!(
            before.is_empty(),
            "format {source:?} has text after its last variable"
        );
        assert!(
            fused.iter().rev().skip(1).all(|f| f.kind == Kind::Next)
                && fused.last().is_some_and(|f| f.kind != Kind::Next),
            "format {source:?} compiled into an unexpected shape"
        );
        Ok(Compiled {
            steps,
            fused,
            plan: plan.map(Box::new),
            builtin: match source {
                // `parse_builtin` relies on the classes `compile` gives these formats.
                // Their walk reads `$remote_addr` as the source field.
                COMBINED | FORUM if first_bytes == b" ]\"" && source_var == "remote_addr" => {
                    Some(if source == COMBINED {
                        Builtin::Combined
                    } else {
                        Builtin::Forum
                    })
                }
                _ => None,
            },
        })
    }
}

#[derive(Debug)]
enum Token {
    Literal(Vec<u8>),
    Var(String),
}

fn tokenize(format: &str) -> Result<Vec<Token>, CompileError> {
    let bytes = format.as_bytes();
    let mut tokens = Vec::new();
    let mut literal = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            literal.push(bytes[i]);
            i += 1;
            continue;
        }
        let (name, next) = if bytes.get(i + 1) == Some(&b'{') {
            let close = bytes[i..]
                .iter()
                .position(|&b| b == b'}')
                .ok_or(CompileError::BadVariable(i))?;
            (&format[i + 2..i + close], i + close + 1)
        } else {
            let len = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            (&format[i + 1..i + 1 + len], i + 1 + len)
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(CompileError::BadVariable(i));
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(std::mem::take(&mut literal)));
        }
        tokens.push(Token::Var(name.to_string()));
        i = next;
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::super::builtin::named;
    use super::*;

    fn compile(spec: &str) -> Compiled {
        Compiled::new(named(spec).unwrap_or(spec), "remote_addr").unwrap()
    }

    /// Formats of the agreement tests (`walk`): the last one's field ends start with five
    /// distinct bytes.
    const SPECS: [&str; 5] = [
        "combined",
        "forum",
        "$status|$request_method|$request_uri",
        "[$status] $request",
        "$remote_addr;$status,$request:$host#$request_time=$body_bytes_sent",
    ];

    #[test]
    fn formats_with_up_to_four_delimiter_bytes_are_scanned() {
        let plan = |spec: &str| match compile(spec).plan.as_deref() {
            Some(ScanPlan::One(_)) => 1,
            Some(ScanPlan::Two(_)) => 2,
            Some(ScanPlan::Three(_)) => 3,
            Some(ScanPlan::Four(_)) => 4,
            None => 0,
        };
        assert_eq!(plan("combined"), 3);
        assert_eq!(plan("forum"), 3);
        assert_eq!(plan("$status|$request_method|$request_uri"), 1);
        assert_eq!(plan(SPECS[4]), 0);
        let builtin = |spec: &str| compile(spec).builtin;
        assert_eq!(builtin("combined"), Some(Builtin::Combined));
        assert_eq!(builtin(COMBINED), Some(Builtin::Combined));
        assert_eq!(builtin("forum"), Some(Builtin::Forum));
        assert_eq!(builtin(SPECS[2]), None);
    }
}
