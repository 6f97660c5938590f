//! Input hygiene before anything runs: no string a client sends may hold a NUL character.
//! This is the GraphQL walk; JSON bodies and documents are checked by `kernel::hygiene`.
//! PostgreSQL cannot store one in `text` (the statement fails and the client saw `INTERNAL`)
//! while SQLite stores it; refusing it up front makes both answer the same `BAD_USER_INPUT`
//! naming the field, and nothing is written. One walk per entry point instead of per field:
//! GraphQL variables and inline literals, REST JSON bodies, scan documents (see
//! docs/decisions.md, "Input hygiene"); Hub token claims are checked in `auth::claims`.

use async_graphql::parser::types::{
    Directive, ExecutableDocument, Selection, SelectionSet, VariableDefinition,
};
use async_graphql::{Positioned, Value as ConstValue, Variables};

/// The path of the first NUL in a GraphQL value (in a string or an object key), under `path`.
fn const_nul(value: &ConstValue, path: &str) -> Option<String> {
    match value {
        ConstValue::String(s) if s.contains('\0') => Some(path.to_string()),
        ConstValue::List(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| const_nul(v, &format!("{path}[{i}]"))),
        ConstValue::Object(fields) => fields.iter().find_map(|(key, v)| {
            let path = format!("{path}.{key}");
            if key.contains('\0') {
                Some(path)
            } else {
                const_nul(v, &path)
            }
        }),
        _ => None,
    }
}

/// A GraphQL request whose variables or inline literals hold a NUL: the message to refuse it
/// with (`None` when it is clean). A document that did not parse is left to the parser.
pub fn refusal(doc: Option<&ExecutableDocument>, variables: &Variables) -> Option<String> {
    for (name, value) in variables.iter() {
        if let Some(path) = const_nul(value, name) {
            return Some(format!("variable `{path}` contains a NUL character"));
        }
    }
    let doc = doc?;
    let in_ops = doc.operations.iter().find_map(|(_, op)| {
        let op = &op.node;
        op.variable_definitions
            .iter()
            .find_map(default_nul)
            .or_else(|| directives_nul(&op.directives))
            .or_else(|| set_nul(&op.selection_set.node))
    });
    in_ops
        .or_else(|| {
            doc.fragments.values().find_map(|f| {
                directives_nul(&f.node.directives).or_else(|| set_nul(&f.node.selection_set.node))
            })
        })
        .map(|(path, field)| format!("argument `{path}` of `{field}` contains a NUL character"))
}

/// (argument path, field or directive) of the first NUL in `arguments`.
type Found = Option<(String, String)>;

/// The first NUL in a field's or directive's arguments. A macro, because the parser's
/// non-constant value type is not exported by async-graphql.
macro_rules! arguments_nul {
    ($owner:expr, $arguments:expr) => {
        $arguments.iter().find_map(|(name, value)| {
            // Variables inside a literal are checked with the variables; here they are null.
            let value = value
                .node
                .clone()
                .into_const_with(|_| Ok::<_, ()>(ConstValue::Null))
                .ok()?;
            const_nul(&value, &name.node).map(|path| (path, $owner.to_string()))
        })
    };
}

fn default_nul(def: &Positioned<VariableDefinition>) -> Found {
    let def = &def.node;
    let value = &def.default_value.as_ref()?.node;
    const_nul(value, &def.name.node).map(|path| (path, format!("${}", def.name.node)))
}

fn directives_nul(directives: &[Positioned<Directive>]) -> Found {
    directives.iter().find_map(|d| {
        let d = &d.node;
        arguments_nul!(format!("@{}", d.name.node), d.arguments)
    })
}

fn set_nul(set: &SelectionSet) -> Found {
    set.items.iter().find_map(|item| match &item.node {
        Selection::Field(f) => {
            let f = &f.node;
            arguments_nul!(f.name.node, f.arguments)
                .or_else(|| directives_nul(&f.directives))
                .or_else(|| set_nul(&f.selection_set.node))
        }
        Selection::InlineFragment(i) => {
            directives_nul(&i.node.directives).or_else(|| set_nul(&i.node.selection_set.node))
        }
        Selection::FragmentSpread(s) => directives_nul(&s.node.directives),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_is_named() {
        let doc = async_graphql::parser::parse_query(
            r#"mutation { createProject(input: { name: "a\u0000b" }) { project { id } } }"#,
        )
        .unwrap();
        let message = refusal(Some(&doc), &Variables::default()).unwrap();
        assert!(
            message.contains("`input.name` of `createProject`"),
            "{message}"
        );
        let vars = Variables::from_json(serde_json::json!({ "input": { "name": "a\u{0}" } }));
        let message = refusal(None, &vars).unwrap();
        assert_eq!(message, "variable `input.name` contains a NUL character");
    }
}
