//! Request limits and the codes of request errors: parse failures, validation failures, depth,
//! complexity, aliases and root fields, each reported with its `extensions.code`.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, ValidationResult, Variables};

use super::directives::Refusal;
use crate::config::GraphqlLimits;
use crate::kernel::errors::Code;

/// Installs the limits on a schema.
pub struct Limits(pub GraphqlLimits);

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExtension(self.0.clone()))
    }
}

struct LimitsExtension(GraphqlLimits);

/// Adds `code` to an error (keeping any code it already has).
pub fn with_code(mut error: ServerError, code: Code) -> ServerError {
    let ext = error.extensions.get_or_insert_with(Default::default);
    if ext.get("code").is_none() {
        ext.set("code", code.as_str());
    }
    error
}

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some()) + count_aliases(&f.node.selection_set.node)
            }
            Selection::InlineFragment(i) => count_aliases(&i.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

fn count_fields(set: &SelectionSet, doc: &ExecutableDocument, depth: usize) -> usize {
    if depth > 8 {
        return 0;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(i) => {
                count_fields(&i.node.selection_set.node, doc, depth + 1)
            }
            Selection::FragmentSpread(s) => doc
                .fragments
                .get(&s.node.fragment_name.node)
                .map_or(0, |f| {
                    count_fields(&f.node.selection_set.node, doc, depth + 1)
                }),
        })
        .sum()
}

/// Depth of a selection set, not counting introspection fields (`__schema`, `__type`): GraphQL
/// tools' standard introspection query nests 14 levels, and we want it to work at the default
/// limit.
fn depth(set: &SelectionSet, doc: &ExecutableDocument, guard: usize) -> usize {
    if guard > 64 {
        return guard;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) if f.node.name.node.starts_with("__") => 0,
            Selection::Field(f) => 1 + depth(&f.node.selection_set.node, doc, guard + 1),
            Selection::InlineFragment(i) => depth(&i.node.selection_set.node, doc, guard + 1),
            Selection::FragmentSpread(s) => doc
                .fragments
                .get(&s.node.fragment_name.node)
                .map_or(0, |f| depth(&f.node.selection_set.node, doc, guard + 1)),
        })
        .max()
        .unwrap_or(0)
}

fn selects_introspection(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(f) => matches!(f.node.name.node.as_str(), "__schema" | "__type"),
        Selection::InlineFragment(i) => selects_introspection(&i.node.selection_set.node),
        Selection::FragmentSpread(_) => false,
    })
}

#[async_trait::async_trait]
impl Extension for LimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next
            .run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, Code::GraphqlParseFailed))?;
        // The HTTP handler refuses these first (400); this covers `/graphql/ws`.
        if let Some(message) = super::hygiene::refusal(Some(&doc), variables) {
            let error = ServerError::new(message, None);
            return Err(with_code(error, Code::BadUserInput));
        }
        let aliases = doc
            .operations
            .iter()
            .map(|(_, op)| count_aliases(&op.node.selection_set.node))
            .sum::<usize>()
            + doc
                .fragments
                .values()
                .map(|f| count_aliases(&f.node.selection_set.node))
                .sum::<usize>();
        if aliases > self.0.max_aliases {
            let message = format!(
                "the document has {aliases} aliases; at most {} are allowed",
                self.0.max_aliases
            );
            return Err(with_code(
                ServerError::new(message, None),
                Code::TooManyAliases,
            ));
        }
        let known = &ctx.schema_env.registry.directives;
        match super::directives::check(&doc, known, self.0.max_directives) {
            Ok(()) => {}
            Err(Refusal::Invalid(error)) => {
                return Err(with_code(error, Code::GraphqlValidationFailed));
            }
            Err(Refusal::TooMany(count)) => {
                let message = format!(
                    "the document has {count} directives; at most {} are allowed",
                    self.0.max_directives
                );
                return Err(with_code(
                    ServerError::new(message, None),
                    Code::QueryTooComplex,
                ));
            }
        }
        for (_, op) in doc.operations.iter() {
            // async-graphql lets an explicit null through for a non-null variable; the spec calls
            // that a coercion failure of the request.
            for var in &op.node.variable_definitions {
                let name = &var.node.name.node;
                let explicit_null = matches!(variables.get(name), Some(async_graphql::Value::Null));
                if explicit_null
                    && !var.node.var_type.node.nullable
                    && var.node.default_value.is_none()
                {
                    let message = format!("variable ${name} is non-null but null was given");
                    return Err(with_code(
                        ServerError::new(message, None),
                        Code::GraphqlValidationFailed,
                    ));
                }
            }
            if !self.0.introspection && selects_introspection(&op.node.selection_set.node) {
                let message = "introspection is disabled on this server";
                return Err(with_code(
                    ServerError::new(message, None),
                    Code::GraphqlValidationFailed,
                ));
            }
            let deep = depth(&op.node.selection_set.node, &doc, 0);
            if deep > self.0.max_depth {
                let message = format!(
                    "the query is nested deeper than {} levels",
                    self.0.max_depth
                );
                return Err(with_code(
                    ServerError::new(message, None),
                    Code::QueryTooDeep,
                ));
            }
            let roots = count_fields(&op.node.selection_set.node, &doc, 0);
            if roots > self.0.max_root_fields {
                let message = format!(
                    "the operation selects {roots} root fields; at most {} are allowed",
                    self.0.max_root_fields
                );
                return Err(with_code(
                    ServerError::new(message, None),
                    Code::QueryTooComplex,
                ));
            }
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| match e.message.as_str() {
                    "Query is nested too deep." => with_code(
                        ServerError::new(format!("the query is nested deeper than {} levels", self.0.max_depth), None),
                        Code::QueryTooDeep,
                    ),
                    "Query is too complex." => with_code(
                        ServerError::new(
                            format!("the query's complexity exceeds {} (a list costs its page size times its fields)", self.0.max_complexity),
                            None,
                        ),
                        Code::QueryTooComplex,
                    ),
                    _ => with_code(e, Code::GraphqlValidationFailed),
                })
                .collect()
        })
    }
}
