//! Page requests and opaque cursors for Relay connections.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use uuid::Uuid;

/// Page size when the client gives none.
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: usize = 100;

/// Which way a page is read from its cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `first`/`after`: from the start of the list (or after the cursor) onwards.
    Forward,
    /// `last`/`before`: the items just before the cursor (or the end of the list).
    Backward,
}

/// A validated page request: size, direction and an optional cursor (the id of
/// the last item seen, which keeps pages stable under inserts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub size: usize,
    pub direction: Direction,
    pub cursor: Option<Uuid>,
    /// Whether the total is wanted: counting is a second statement over the
    /// whole filtered list, so pages skip it when nobody reads `totalCount`.
    pub count_total: bool,
}

/// Why a page request is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPage(pub String);

impl PageRequest {
    /// Parses Relay arguments. Mixing forward and backward arguments, negative
    /// sizes, sizes above [`MAX_PAGE_SIZE`] and foreign cursors are rejected.
    pub fn parse(
        first: Option<i32>,
        after: Option<&str>,
        last: Option<i32>,
        before: Option<&str>,
    ) -> Result<Self, BadPage> {
        let backward = last.is_some() || before.is_some();
        if backward && (first.is_some() || after.is_some()) {
            return Err(BadPage("use first/after or last/before, not both".into()));
        }
        let (size, cursor, direction) = if backward {
            (last, before, Direction::Backward)
        } else {
            (first, after, Direction::Forward)
        };
        let size = match size {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n < 0 => return Err(BadPage("page size must not be negative".into())),
            Some(n) if n as usize > MAX_PAGE_SIZE => {
                return Err(BadPage(format!(
                    "page size must be at most {MAX_PAGE_SIZE}"
                )))
            }
            Some(n) => n as usize,
        };
        let cursor = cursor.map(decode_cursor).transpose()?;
        Ok(PageRequest {
            size,
            direction,
            cursor,
            count_total: true,
        })
    }
}

/// Encodes an item id as an opaque cursor.
pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// Decodes a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Result<Uuid, BadPage> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| BadPage("malformed cursor".into()))
}

/// One page of items with what a connection needs to describe it.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
    pub has_previous: bool,
    pub total: u64,
}

impl<T> Page<T> {
    /// The same page with each item mapped, or the first error.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            has_next: self.has_next,
            has_previous: self.has_previous,
            total: self.total,
        })
    }

    /// The same page with each item mapped.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_next: self.has_next,
            has_previous: self.has_previous,
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)), Ok(id));
        for bad in ["", "!!", "AAAA", "not a cursor at all"] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn page_arguments_table() {
        let c = encode_cursor(Uuid::nil());
        type Case<'a> = (
            Option<i32>,
            Option<&'a str>,
            Option<i32>,
            Option<&'a str>,
            Result<(usize, Direction), ()>,
        );
        let cases: &[Case] = &[
            (None, None, None, None, Ok((20, Direction::Forward))),
            (Some(0), None, None, None, Ok((0, Direction::Forward))),
            (Some(100), None, None, None, Ok((100, Direction::Forward))),
            (Some(101), None, None, None, Err(())),
            (Some(-1), None, None, None, Err(())),
            (None, None, Some(5), None, Ok((5, Direction::Backward))),
            (
                None,
                None,
                None,
                Some(c.as_str()),
                Ok((20, Direction::Backward)),
            ),
            (Some(5), None, Some(5), None, Err(())),
            (None, Some("bogus"), None, None, Err(())),
        ];
        for (first, after, last, before, want) in cases {
            let got = PageRequest::parse(*first, *after, *last, *before)
                .map(|p| (p.size, p.direction))
                .map_err(|_| ());
            assert_eq!(&got, want, "{first:?} {after:?} {last:?} {before:?}");
        }
    }
}
