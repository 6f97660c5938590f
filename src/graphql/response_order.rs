//! Response keys in selection order, as the spec's CollectFields gives them. async-graphql runs
//! an object's fields concurrently and keys its answer in the order they finish (and answers an
//! object all of whose fields were skipped with `null`); this puts each object's keys back in
//! the order the document selected them, one pass over the answer.

use async_graphql::parser::types::{
    Directive, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Value, Variables};

/// Deeper than any document that passed the depth limit: only a guard.
const MAX_DEPTH: usize = 64;

/// Reorders `data`, the answer to the operation `name` chooses in `doc`, into selection order.
pub fn in_selection_order(
    doc: &ExecutableDocument,
    name: Option<&str>,
    variables: &Variables,
    data: &mut Value,
) {
    let chosen = doc.operations.iter().find(|(n, _)| match name {
        None => true,
        Some(name) => n.is_some_and(|n| n.as_str() == name),
    });
    let Some((_, operation)) = chosen else { return };
    let operation = &operation.node;
    let collector = Collector {
        doc,
        variables,
        operation,
    };
    let fields = collector.fields(&[&operation.selection_set.node]);
    // Every root field skipped: the answer is an empty object, not a missing one.
    if fields.is_empty() && matches!(data, Value::Null) {
        *data = Value::Object(Default::default());
        return;
    }
    collector.reorder(vec![data], &fields, 0);
}

/// A response key and every selection set selected under it.
type Field<'a> = (&'a str, Vec<&'a SelectionSet>);

struct Collector<'a> {
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    operation: &'a OperationDefinition,
}

impl<'a> Collector<'a> {
    /// The response keys `sets` select, in order of first appearance, fragments expanded.
    fn fields(&self, sets: &[&'a SelectionSet]) -> Vec<Field<'a>> {
        let mut out: Vec<Field<'a>> = Vec::new();
        for set in sets {
            self.collect(set, &mut out, 0);
        }
        out
    }

    fn collect(&self, set: &'a SelectionSet, out: &mut Vec<Field<'a>>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for item in &set.items {
            if !self.included(item.node.directives()) {
                continue;
            }
            match &item.node {
                Selection::Field(field) => {
                    let key = field.node.response_key().node.as_str();
                    let below = &field.node.selection_set.node;
                    match out.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, sets)) => sets.push(below),
                        None => out.push((key, vec![below])),
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.collect(&inline.node.selection_set.node, out, depth + 1)
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = self.doc.fragments.get(&spread.node.fragment_name.node)
                    {
                        self.collect(&fragment.node.selection_set.node, out, depth + 1);
                    }
                }
            }
        }
    }

    /// `@skip(if:)` / `@include(if:)`, with variables; anything unreadable counts as included
    /// (validation has refused such documents already).
    fn included(&self, directives: &[Positioned<Directive>]) -> bool {
        directives.iter().all(|directive| {
            let condition = directive.node.get_argument("if").and_then(|value| {
                let value = value
                    .node
                    .clone()
                    .into_const_with(|name: Name| self.variable(&name).ok_or(()));
                match value {
                    Ok(Value::Boolean(b)) => Some(b),
                    _ => None,
                }
            });
            !matches!(
                (directive.node.name.node.as_str(), condition),
                ("skip", Some(true)) | ("include", Some(false))
            )
        })
    }

    /// A variable's value as given, else its default.
    fn variable(&self, name: &Name) -> Option<Value> {
        self.variables.get(name).cloned().or_else(|| {
            self.operation
                .variable_definitions
                .iter()
                .find(|v| v.node.name.node == *name)
                .and_then(|v| v.node.default_value.as_ref())
                .map(|d| d.node.clone())
        })
    }

    /// Puts the keys of every object in `values` (all answers to the same selection) in the
    /// order of `fields`, then does the same one level down, per key, for all of them at once.
    fn reorder(&self, values: Vec<&mut Value>, fields: &[Field<'a>], depth: usize) {
        if fields.is_empty() || depth > MAX_DEPTH {
            return;
        }
        let mut below: Vec<Vec<&mut Value>> = fields.iter().map(|_| Vec::new()).collect();
        let mut objects = Vec::new();
        flatten(values, &mut objects);
        for map in objects {
            let mut old = std::mem::take(map);
            for (key, _) in fields {
                if let Some((name, value)) = old.shift_remove_entry(*key) {
                    map.insert(name, value);
                }
            }
            // Nothing else should be there; if it is, it stays, after the selected keys.
            map.extend(old);
            for (name, value) in map.iter_mut() {
                if let Some(slot) = fields.iter().position(|(k, _)| *k == name.as_str()) {
                    below[slot].push(value);
                }
            }
        }
        for ((_, sets), values) in fields.iter().zip(below) {
            if values.is_empty() {
                continue;
            }
            let fields = self.fields(sets);
            self.reorder(values, &fields, depth + 1);
        }
    }
}

type Object = async_graphql::indexmap::IndexMap<Name, Value>;

/// The objects among `values`, lists opened (of any depth).
fn flatten<'v>(values: Vec<&'v mut Value>, out: &mut Vec<&'v mut Object>) {
    for value in values {
        match value {
            Value::Object(map) => out.push(map),
            Value::List(items) => flatten(items.iter_mut().collect(), out),
            _ => {}
        }
    }
}
