//! The one error type of the parsers: it says *where* (a dotted path such as `sps.vui` or
//! `moov.trak[0].stbl.stsz`, and a byte offset when one is known) and *what*.

use std::fmt;

/// What went wrong while parsing untrusted input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input ended before the structure did.
    Truncated,
    /// A field holds a value the specification forbids.
    Invalid(String),
    /// Valid input that ifc does not handle (yet).
    Unsupported(String),
    /// Something the input needs is absent (a parameter set, a box).
    Missing(String),
    /// A count or size is larger than the bytes that could hold it.
    TooLarge(String),
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("truncated"),
            Self::Invalid(m) => write!(f, "invalid: {m}"),
            Self::Unsupported(m) => write!(f, "unsupported: {m}"),
            Self::Missing(m) => write!(f, "missing {m}"),
            Self::TooLarge(m) => write!(f, "too large: {m}"),
        }
    }
}

/// A parse failure with its location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// Dotted path of the structure being parsed, e.g. `sps.vui` or `moov.trak[0].stbl.stsz`.
    pub at: String,
    /// Byte offset in the input, when known.
    pub offset: Option<u64>,
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.at)?;
        if let Some(offset) = self.offset {
            write!(f, " (byte {offset})")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl ParseError {
    pub fn new(at: impl Into<String>, kind: ParseErrorKind) -> Self {
        Self { at: at.into(), offset: None, kind }
    }

    pub fn truncated(at: impl Into<String>) -> Self {
        Self::new(at, ParseErrorKind::Truncated)
    }

    pub fn invalid(at: impl Into<String>, msg: impl Into<String>) -> Self {
        Self::new(at, ParseErrorKind::Invalid(msg.into()))
    }

    pub fn unsupported(at: impl Into<String>, msg: impl Into<String>) -> Self {
        Self::new(at, ParseErrorKind::Unsupported(msg.into()))
    }

    pub fn missing(at: impl Into<String>, what: impl Into<String>) -> Self {
        Self::new(at, ParseErrorKind::Missing(what.into()))
    }

    pub fn too_large(at: impl Into<String>, msg: impl Into<String>) -> Self {
        Self::new(at, ParseErrorKind::TooLarge(msg.into()))
    }

    /// Sets the byte offset if none is set yet (the innermost offset wins).
    #[must_use]
    pub fn at_offset(mut self, offset: u64) -> Self {
        self.offset.get_or_insert(offset);
        self
    }

    /// Prefixes the location with an outer path: `sps` + `vui` -> `sps.vui`.
    #[must_use]
    pub fn within(mut self, outer: &str) -> Self {
        self.at = if self.at.is_empty() { outer.to_owned() } else { format!("{outer}.{}", self.at) };
        self
    }
}

pub type Result<T, E = ParseError> = std::result::Result<T, E>;
