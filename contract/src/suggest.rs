//! "Did you mean …?" for a misspelt name: spec keys and types, query parameters, body fields.

/// The closest candidate to `word`, if it is close enough to be a plausible typo: at most one
/// edit per three characters (at least one), case ignored, a swap of neighbours counting as one
/// edit (the most common typo).
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|candidate| (strsim::osa_distance(&word_lower, &candidate.to_ascii_lowercase()), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len().max(word.len()) / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// The suggestion as a message suffix: `; did you mean `x`?`, or nothing.
pub fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match did_you_mean(word, candidates) {
        Some(candidate) => format!("; did you mean `{candidate}`?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["max_length", "min_length", "primary_key", "required"];
        assert_eq!(did_you_mean("max_lenght", keys), Some("max_length"));
        assert_eq!(did_you_mean("maxLength", keys), Some("max_length"));
        assert_eq!(did_you_mean("requried", keys), Some("required"));
        assert_eq!(did_you_mean("colour", keys), None);
        assert_eq!(did_you_mean("strng", ["string", "text", "uuid"]), Some("string"));
        assert_eq!(suggestion("sourc_type", ["source_type"]), "; did you mean `source_type`?");
        assert_eq!(suggestion("zzz", ["source_type"]), "");
    }
}
