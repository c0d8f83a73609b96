//! A small JSON parser that keeps the line and column of every value.
//!
//! `serde_json` drops positions, and every spec error must say where it is, so the spec is
//! read into this position-carrying tree first. Duplicate object keys are kept (in order) so the
//! spec reader can report them instead of silently taking the last one.

use std::fmt;

/// A 1-based line and column (in characters) inside the spec file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A JSON number, keeping integers exact.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    /// A number written without fraction or exponent that fits in an `i64`.
    Int(i64),
    /// Any other number.
    Float(f64),
}

impl Number {
    /// The value as a float (integers convert exactly up to 2^53).
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            // `{:?}` keeps the fraction (`1.0`), so a float is never mistaken for an integer.
            Number::Float(x) => write!(f, "{x:?}"),
        }
    }
}

/// A JSON value with the position where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// Where the value starts.
    pub pos: Pos,
    /// The value itself.
    pub kind: ValueKind,
}

/// The kinds of JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueKind {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string (unescaped).
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, members in file order, duplicates kept.
    Object(Vec<Member>),
}

/// One `"key": value` member of an object.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// Where the key starts.
    pub key_pos: Pos,
    /// The key (unescaped).
    pub key: String,
    /// The value.
    pub value: Value,
}

impl ValueKind {
    /// A short noun for messages: "a string", "an array", …
    pub fn describe(&self) -> &'static str {
        match self {
            ValueKind::Null => "null",
            ValueKind::Bool(_) => "a boolean",
            ValueKind::Number(Number::Int(_)) => "an integer",
            ValueKind::Number(Number::Float(_)) => "a number",
            ValueKind::String(_) => "a string",
            ValueKind::Array(_) => "an array",
            ValueKind::Object(_) => "an object",
        }
    }
}

/// Malformed JSON: where and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// What it expected or found.
    pub message: String,
}

/// Parses a whole JSON document.
pub fn parse(source: &str) -> Result<Value, SyntaxError> {
    let mut parser = Parser { chars: source.chars().collect(), index: 0, pos: Pos { line: 1, column: 1 }, depth: 0 };
    // A UTF-8 byte order mark is harmless; editors on some systems add it.
    if parser.peek() == Some('\u{feff}') {
        parser.index += 1;
    }
    parser.skip_whitespace();
    let value = parser.value()?;
    parser.skip_whitespace();
    match parser.peek() {
        None => Ok(value),
        Some(c) => Err(parser.error(format!("unexpected {} after the end of the document", quote_char(c)))),
    }
}

/// Deeper nesting than this is certainly a mistake, and unbounded recursion could overflow the
/// compiler's stack on hostile input.
const MAX_DEPTH: u32 = 128;

struct Parser {
    chars: Vec<char>,
    index: usize,
    pos: Pos,
    depth: u32,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.index).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.index += 1;
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    fn error(&self, message: String) -> SyntaxError {
        SyntaxError { pos: self.pos, message }
    }

    fn unexpected(&self, expected: &str) -> SyntaxError {
        match self.peek() {
            None => self.error(format!("unexpected end of file, expected {expected}")),
            Some(c) => self.error(format!("expected {expected}, found {}", quote_char(c))),
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.bump();
        }
    }

    fn expect(&mut self, wanted: char) -> Result<(), SyntaxError> {
        if self.peek() == Some(wanted) {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{wanted}`")))
        }
    }

    fn value(&mut self) -> Result<Value, SyntaxError> {
        let pos = self.pos;
        let kind = match self.peek() {
            Some('{') => self.nested(Self::object)?,
            Some('[') => self.nested(Self::array)?,
            Some('"') => ValueKind::String(self.string()?),
            Some('-' | '0'..='9') => ValueKind::Number(self.number()?),
            Some('t') => self.keyword("true", ValueKind::Bool(true))?,
            Some('f') => self.keyword("false", ValueKind::Bool(false))?,
            Some('n') => self.keyword("null", ValueKind::Null)?,
            _ => return Err(self.unexpected("a JSON value")),
        };
        Ok(Value { pos, kind })
    }

    fn nested(&mut self, parse: fn(&mut Self) -> Result<ValueKind, SyntaxError>) -> Result<ValueKind, SyntaxError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn keyword(&mut self, word: &str, kind: ValueKind) -> Result<ValueKind, SyntaxError> {
        let start = self.pos;
        for expected in word.chars() {
            if self.peek() != Some(expected) {
                return Err(SyntaxError { pos: start, message: format!("invalid literal, expected `{word}`") });
            }
            self.bump();
        }
        Ok(kind)
    }

    fn object(&mut self) -> Result<ValueKind, SyntaxError> {
        self.expect('{')?;
        let mut members = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some('}') {
            self.bump();
            return Ok(ValueKind::Object(members));
        }
        loop {
            self.skip_whitespace();
            let key_pos = self.pos;
            if self.peek() != Some('"') {
                return Err(self.unexpected("a string key in double quotes"));
            }
            let key = self.string()?;
            self.skip_whitespace();
            self.expect(':')?;
            self.skip_whitespace();
            let value = self.value()?;
            members.push(Member { key_pos, key, value });
            self.skip_whitespace();
            match self.peek() {
                Some(',') => {
                    let comma = self.pos;
                    self.bump();
                    self.skip_whitespace();
                    if self.peek() == Some('}') {
                        return Err(SyntaxError { pos: comma, message: "trailing comma before `}`".to_owned() });
                    }
                }
                Some('}') => {
                    self.bump();
                    return Ok(ValueKind::Object(members));
                }
                _ => return Err(self.unexpected("`,` or `}`")),
            }
        }
    }

    fn array(&mut self) -> Result<ValueKind, SyntaxError> {
        self.expect('[')?;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(']') {
            self.bump();
            return Ok(ValueKind::Array(items));
        }
        loop {
            self.skip_whitespace();
            items.push(self.value()?);
            self.skip_whitespace();
            match self.peek() {
                Some(',') => {
                    let comma = self.pos;
                    self.bump();
                    self.skip_whitespace();
                    if self.peek() == Some(']') {
                        return Err(SyntaxError { pos: comma, message: "trailing comma before `]`".to_owned() });
                    }
                }
                Some(']') => {
                    self.bump();
                    return Ok(ValueKind::Array(items));
                }
                _ => return Err(self.unexpected("`,` or `]`")),
            }
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        self.expect('"')?;
        let mut out = String::new();
        loop {
            let pos = self.pos;
            match self.bump() {
                // A string cut by the end of its line almost always lacks its closing quote;
                // point at where it starts, which is where the fix goes.
                None | Some('\n') => {
                    return Err(SyntaxError {
                        pos: start,
                        message: "unterminated string: missing closing `\"`".to_owned(),
                    });
                }
                Some('"') => return Ok(out),
                Some('\\') => out.push(self.escape(pos)?),
                Some(c) if (c as u32) < 0x20 => {
                    return Err(SyntaxError {
                        pos,
                        message: "control character in string (escape it, e.g. `\\n`)".to_owned(),
                    });
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn escape(&mut self, start: Pos) -> Result<char, SyntaxError> {
        let invalid = |message: &str| SyntaxError { pos: start, message: message.to_owned() };
        Ok(match self.bump() {
            Some('"') => '"',
            Some('\\') => '\\',
            Some('/') => '/',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => {
                let high = self.hex4().ok_or_else(|| invalid("invalid `\\u` escape, expected four hex digits"))?;
                if (0xD800..0xDC00).contains(&high) {
                    // A surrogate pair: JSON spells characters beyond the BMP as two escapes.
                    if self.bump() != Some('\\') || self.bump() != Some('u') {
                        return Err(invalid("unpaired surrogate in `\\u` escape"));
                    }
                    let low = self.hex4().ok_or_else(|| invalid("invalid `\\u` escape, expected four hex digits"))?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(invalid("unpaired surrogate in `\\u` escape"));
                    }
                    let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    char::from_u32(code).ok_or_else(|| invalid("invalid `\\u` escape"))?
                } else {
                    char::from_u32(high).ok_or_else(|| invalid("unpaired surrogate in `\\u` escape"))?
                }
            }
            _ => return Err(invalid("invalid escape sequence")),
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut code = 0;
        for _ in 0..4 {
            code = code * 16 + self.bump()?.to_digit(16)?;
        }
        Some(code)
    }

    fn number(&mut self) -> Result<Number, SyntaxError> {
        let start = self.pos;
        let mut text = String::new();
        let mut is_float = false;
        if self.peek() == Some('-') {
            text.push('-');
            self.bump();
        }
        match self.peek() {
            Some('0') => {
                text.push('0');
                self.bump();
                if matches!(self.peek(), Some('0'..='9')) {
                    return Err(self.error("leading zeros are not allowed in numbers".to_owned()));
                }
            }
            Some('1'..='9') => self.digits(&mut text),
            _ => return Err(self.unexpected("a digit")),
        }
        if self.peek() == Some('.') {
            is_float = true;
            text.push('.');
            self.bump();
            if !matches!(self.peek(), Some('0'..='9')) {
                return Err(self.unexpected("a digit after the decimal point"));
            }
            self.digits(&mut text);
        }
        if let Some(e @ ('e' | 'E')) = self.peek() {
            is_float = true;
            text.push(e);
            self.bump();
            if let Some(sign @ ('+' | '-')) = self.peek() {
                text.push(sign);
                self.bump();
            }
            if !matches!(self.peek(), Some('0'..='9')) {
                return Err(self.unexpected("a digit in the exponent"));
            }
            self.digits(&mut text);
        }
        let out_of_range = || SyntaxError { pos: start, message: format!("number `{text}` is out of range") };
        if !is_float && let Ok(int) = text.parse::<i64>() {
            return Ok(Number::Int(int));
        }
        match text.parse::<f64>() {
            Ok(float) if float.is_finite() => Ok(Number::Float(float)),
            _ => Err(out_of_range()),
        }
    }

    fn digits(&mut self, text: &mut String) {
        while let Some(c @ '0'..='9') = self.peek() {
            text.push(c);
            self.bump();
        }
    }
}

fn quote_char(c: char) -> String {
    if c.is_control() { format!("{c:?}") } else { format!("`{c}`") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_line_and_column_of_each_value() {
        let doc = parse("{\n  \"a\": [1, 2.5],\n  \"b\": \"é\\u00e9\"\n}").unwrap();
        let ValueKind::Object(members) = doc.kind else { panic!("object expected") };
        assert_eq!(members[0].key_pos, Pos { line: 2, column: 3 });
        assert_eq!(members[0].value.pos, Pos { line: 2, column: 8 });
        let ValueKind::Array(items) = &members[0].value.kind else { panic!("array expected") };
        assert_eq!(items[0].kind, ValueKind::Number(Number::Int(1)));
        assert_eq!(items[1].kind, ValueKind::Number(Number::Float(2.5)));
        assert_eq!(items[1].pos, Pos { line: 2, column: 12 });
        assert_eq!(members[1].value.kind, ValueKind::String("éé".to_owned()));
    }

    #[test]
    fn syntax_errors_point_at_the_problem() {
        let err = parse("{\n  \"a\": 1,\n}").unwrap_err();
        assert_eq!(err.pos, Pos { line: 2, column: 9 });
        assert_eq!(err.message, "trailing comma before `}`");

        let err = parse("{\"a\" 1}").unwrap_err();
        assert_eq!((err.pos, err.message.as_str()), (Pos { line: 1, column: 6 }, "expected `:`, found `1`"));

        let err = parse("[tru]").unwrap_err();
        assert_eq!(err.message, "invalid literal, expected `true`");
        assert!(parse("{\"a\": 01}").is_err());
        let err = parse("{\n  \"name\": \"label,\n  \"type\": \"string\"\n}").unwrap_err();
        assert_eq!(
            (err.pos, err.message.as_str()),
            (Pos { line: 2, column: 11 }, "unterminated string: missing closing `\"`")
        );
        assert!(parse("[1] [2]").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn surrogate_pairs_and_duplicates() {
        let doc = parse(r#"{"k": "\ud83d\ude00", "k": 1}"#).unwrap();
        let ValueKind::Object(members) = doc.kind else { panic!("object expected") };
        assert_eq!(members[0].value.kind, ValueKind::String("😀".to_owned()));
        assert_eq!(members.len(), 2, "duplicates are kept for the checker to report");
        assert!(parse(r#""\ud83d""#).is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let doc = "[".repeat(10_000);
        assert!(parse(&doc).unwrap_err().message.contains("nesting"));
    }
}
