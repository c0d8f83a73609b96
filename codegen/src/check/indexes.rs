//! Indexes: at least one field, only fields that exist, each once, none sensitive, and no two
//! indexes on the same fields. Compile-fail cases: `tests/ui/indexes/`.

use crate::diagnostics::Diagnostics;
use crate::ir::IndexIr;
use crate::spec::{FieldSpec, IndexSpec};
use entity_spec_contract::suggest::suggestion;

/// Indexes name at least one field, only fields that exist, each once, and no sensitive field
/// (stored encrypted with a random nonce, its values can neither be found nor kept unique
/// through an index).
pub(super) fn lower_index(index: &IndexSpec, fields: &[FieldSpec], d: &mut Diagnostics) -> Option<IndexIr> {
    let ctx = index.context.as_str();
    if index.fields.is_empty() {
        d.error(index.fields_pos, ctx, "an index needs at least one field");
        return None;
    }
    let known: Vec<&str> = fields.iter().filter_map(|f| f.name.as_ref()).map(|n| n.value.as_str()).collect();
    let mut ok = true;
    for (i, name) in index.fields.iter().enumerate() {
        if !known.contains(&name.value.as_str()) {
            let hint = suggestion(&name.value, known.iter().copied());
            d.error(name.pos, ctx, format!("index names unknown field `{}`{hint}", name.value.escape_debug()));
            ok = false;
        } else if index.fields[..i].iter().any(|earlier| earlier.value == name.value) {
            d.error(name.pos, ctx, format!("index lists field `{}` twice", name.value));
            ok = false;
        } else if is_sensitive(fields, &name.value) {
            d.error(
                name.pos,
                ctx,
                format!(
                    "index names `sensitive` field `{}`: sensitive values are stored encrypted with a random nonce, so an index can neither find them nor keep them unique",
                    name.value
                ),
            );
            ok = false;
        }
    }
    ok.then(|| IndexIr {
        fields: index.fields.iter().map(|f| f.value.clone()).collect(),
        unique: index.unique.as_ref().is_some_and(|u| u.value),
    })
}

fn is_sensitive(fields: &[FieldSpec], name: &str) -> bool {
    fields
        .iter()
        .any(|f| f.name.as_ref().is_some_and(|n| n.value == name) && f.sensitive.as_ref().is_some_and(|s| s.value))
}

/// No two indexes cover the same fields in the same order.
pub(super) fn check_unique_indexes(indexes: &[IndexSpec], d: &mut Diagnostics) {
    let mut seen: Vec<Vec<&str>> = Vec::new();
    for index in indexes {
        let fields: Vec<&str> = index.fields.iter().map(|f| f.value.as_str()).collect();
        if !fields.is_empty() && seen.contains(&fields) {
            d.error(index.pos, &index.context, format!("duplicate index on ({})", fields.join(", ")));
        }
        seen.push(fields);
    }
}
