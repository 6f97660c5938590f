//! The spec's directive validation (5.7) over the whole document, `__typename` included:
//! async-graphql's own rules skip `__typename` fields, so `{ __typename @unknown }` or a
//! thousand `@include`s on it ran. Directives must be the schema's executable ones, at a
//! location they allow, with known arguments (required ones given), non-repeatable ones once
//! per location; and a document holds at most `GRAPHQL_MAX_DIRECTIVES` of them.

use std::collections::BTreeMap;

use async_graphql::parser::types::{Directive, ExecutableDocument, Selection, SelectionSet};
use async_graphql::registry::{__DirectiveLocation as Location, MetaDirective};
use async_graphql::{Pos, Positioned, ServerError, Value};

/// Why a document's directives are refused.
pub enum Refusal {
    /// A validation failure (`GRAPHQL_VALIDATION_FAILED`).
    Invalid(ServerError),
    /// More directives than the limit (`QUERY_TOO_COMPLEX`).
    TooMany(usize),
}

/// Checks every directive of `doc` against the schema's `known` directives.
pub fn check(
    doc: &ExecutableDocument,
    known: &BTreeMap<String, MetaDirective>,
    max: usize,
) -> Result<(), Refusal> {
    let mut checker = Checker { known, count: 0 };
    for (_, op) in doc.operations.iter() {
        let location = match op.node.ty {
            async_graphql::parser::types::OperationType::Query => Location::QUERY,
            async_graphql::parser::types::OperationType::Mutation => Location::MUTATION,
            async_graphql::parser::types::OperationType::Subscription => Location::SUBSCRIPTION,
        };
        checker.at(&op.node.directives, location)?;
        for variable in &op.node.variable_definitions {
            checker.at(&variable.node.directives, Location::VARIABLE_DEFINITION)?;
        }
        checker.set(&op.node.selection_set.node, 0)?;
    }
    for fragment in doc.fragments.values() {
        checker.at(&fragment.node.directives, Location::FRAGMENT_DEFINITION)?;
        checker.set(&fragment.node.selection_set.node, 0)?;
    }
    if checker.count > max {
        return Err(Refusal::TooMany(checker.count));
    }
    Ok(())
}

struct Checker<'a> {
    known: &'a BTreeMap<String, MetaDirective>,
    count: usize,
}

fn invalid(message: String, pos: Pos) -> Refusal {
    Refusal::Invalid(ServerError::new(message, Some(pos)))
}

impl Checker<'_> {
    fn set(&mut self, set: &SelectionSet, depth: usize) -> Result<(), Refusal> {
        // Deeper documents are refused by the depth limit; this only bounds the recursion.
        if depth > 64 {
            return Ok(());
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    self.at(&field.node.directives, Location::FIELD)?;
                    self.set(&field.node.selection_set.node, depth + 1)?;
                }
                Selection::FragmentSpread(spread) => {
                    self.at(&spread.node.directives, Location::FRAGMENT_SPREAD)?;
                }
                Selection::InlineFragment(inline) => {
                    self.at(&inline.node.directives, Location::INLINE_FRAGMENT)?;
                    self.set(&inline.node.selection_set.node, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    /// The directives at one location.
    fn at(&mut self, directives: &[Positioned<Directive>], here: Location) -> Result<(), Refusal> {
        self.count += directives.len();
        let mut seen: Vec<&str> = Vec::new();
        for directive in directives {
            let name = directive.node.name.node.as_str();
            let pos = directive.pos;
            // Type-system directives (`@deprecated`, `@oneOf`, …) have no executable location.
            let Some(meta) = self
                .known
                .get(name)
                .filter(|m| m.locations.iter().any(executable))
            else {
                return Err(invalid(format!("Unknown directive \"@{name}\"."), pos));
            };
            if !meta.locations.contains(&here) {
                return Err(invalid(
                    format!("Directive \"@{name}\" may not be used on {here:?}."),
                    pos,
                ));
            }
            if !meta.is_repeatable {
                if seen.contains(&name) {
                    return Err(invalid(
                        format!(
                            "The directive \"@{name}\" can only be used once at this location."
                        ),
                        pos,
                    ));
                }
                seen.push(name);
            }
            let mut given: Vec<&str> = Vec::new();
            for (arg, value) in &directive.node.arguments {
                let arg_name = arg.node.as_str();
                if !meta.args.contains_key(arg_name) {
                    return Err(invalid(
                        format!("Unknown argument \"{arg_name}\" on directive \"@{name}\"."),
                        arg.pos,
                    ));
                }
                if given.contains(&arg_name) {
                    return Err(invalid(
                        format!("There can be only one argument named \"{arg_name}\"."),
                        arg.pos,
                    ));
                }
                given.push(arg_name);
                // `@skip`/`@include` take a Boolean (a variable's type is checked by the schema).
                let boolean = meta.args[arg_name].ty.trim_end_matches('!') == "Boolean";
                let literal = value.node.clone().into_const();
                if boolean && !matches!(literal, None | Some(Value::Boolean(_))) {
                    return Err(invalid(
                        format!("Argument \"{arg_name}\" of \"@{name}\" must be a Boolean."),
                        arg.pos,
                    ));
                }
            }
            let missing = meta.args.values().find(|arg| {
                arg.ty.ends_with('!') && arg.default_value.is_none() && !given.contains(&&*arg.name)
            });
            if let Some(arg) = missing {
                return Err(invalid(
                    format!(
                        "Directive \"@{name}\" argument \"{}\" of type \"{}\" is required.",
                        arg.name, arg.ty
                    ),
                    pos,
                ));
            }
        }
        Ok(())
    }
}

fn executable(location: &Location) -> bool {
    matches!(
        location,
        Location::QUERY
            | Location::MUTATION
            | Location::SUBSCRIPTION
            | Location::FIELD
            | Location::FRAGMENT_DEFINITION
            | Location::FRAGMENT_SPREAD
            | Location::INLINE_FRAGMENT
            | Location::VARIABLE_DEFINITION
    )
}
