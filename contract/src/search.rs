//! Full-text search (`q=`): what a word is, and how much a search may ask for. The runtime
//! reads a search with [`search_terms`]; the generator documents the same parameter and limits.
//!
//! A word is a run of letters and digits; everything else separates words, on both databases
//! (SQLite's FTS5 `unicode61` tokenizer, PostgreSQL's `simple` configuration over the text with
//! punctuation replaced by spaces). Matching ignores case, applies no stemming and no stop
//! words (the same in every language), and takes each word of the search as a prefix, so a
//! search box finds rows while the user is still typing. Text without a letter or digit holds
//! no word and searches for nothing, as blank text does (as DRF's `SearchFilter` treats it):
//! the only search refused is one longer than [`MAX_SEARCH_CHARS`], which bounds the words too.

/// The list parameter of a full-text search.
pub const SEARCH_PARAMETER: &str = "q";

/// The longest search, in characters (Unicode scalar values, as JSON Schema's `maxLength`
/// counts): a search box's text, not a document. It bounds the words to 100.
pub const MAX_SEARCH_CHARS: usize = 200;

/// A search longer than [`MAX_SEARCH_CHARS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchTooLong;

impl SearchTooLong {
    /// What is wrong, for a problem body.
    pub fn message(self) -> String {
        format!("is longer than {MAX_SEARCH_CHARS} characters")
    }
}

/// The words of a search, lowercased, each once, in the order given; `None` when it holds no
/// word (blank, as a cleared search box sends, or punctuation only): no search at all.
pub fn search_terms(text: &str) -> Result<Option<Vec<String>>, SearchTooLong> {
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(SearchTooLong);
    }
    let mut terms: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()) {
        let word = word.to_lowercase();
        if !terms.contains(&word) {
            terms.push(word);
        }
    }
    Ok(if terms.is_empty() { None } else { Some(terms) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_runs_of_letters_and_digits() {
        assert_eq!(
            search_terms("  Prod-DB  eu_west1 ").unwrap(),
            Some(vec!["prod".into(), "db".into(), "eu".into(), "west1".into()])
        );
        assert_eq!(search_terms("Café Ärger ärger").unwrap(), Some(vec!["café".into(), "ärger".into()]));
        // The syntax of either index's query language is only punctuation here.
        assert_eq!(
            search_terms("\"a\" OR b* NEAR(c) -d:*").unwrap(),
            Some(vec!["a".into(), "or".into(), "b".into(), "near".into(), "c".into(), "d".into()])
        );
    }

    #[test]
    fn text_without_words_is_no_search_and_length_is_bounded() {
        assert_eq!(search_terms(""), Ok(None));
        assert_eq!(search_terms(" \t "), Ok(None));
        assert_eq!(search_terms("%_*\"' — ¿?"), Ok(None));
        assert_eq!(search_terms(&"é".repeat(MAX_SEARCH_CHARS)).unwrap().map(|t| t.len()), Some(1));
        assert_eq!(search_terms(&"é".repeat(MAX_SEARCH_CHARS + 1)), Err(SearchTooLong));
    }
}
