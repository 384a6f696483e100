//! Page requests and opaque, signed cursors for Relay connections.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
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
    /// sizes, sizes above [`MAX_PAGE_SIZE`] and cursors `key` did not sign
    /// are rejected.
    pub fn parse(
        first: Option<i32>,
        after: Option<&str>,
        last: Option<i32>,
        before: Option<&str>,
        cursors: &ListCursors,
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
        let cursor = cursor.map(|c| cursors.decode(c)).transpose()?;
        Ok(PageRequest {
            size,
            direction,
            cursor,
            count_total: true,
        })
    }
}

/// Signs cursors, so a page starts only where one this API served ended in
/// the same field: a made-up cursor, or one from another field, is
/// BAD_USER_INPUT rather than an empty or misplaced page (the claims queue
/// reads its sort key by the cursor's id, and an unknown id would silently
/// end the list). Derived from the JWT secret, which every process of one
/// deployment shares, so a cursor works on any of them.
#[derive(Clone)]
pub struct CursorKey(Hmac<Sha256>);

/// A cursor: the item's id, then this many bytes of its MAC.
const TAG_BYTES: usize = 12;

impl CursorKey {
    pub fn derive(secret: &[u8]) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"refund-desk page cursors v1");
        let key = mac.finalize().into_bytes();
        CursorKey(Hmac::new_from_slice(&key).expect("HMAC takes any key length"))
    }

    /// The cursors of one list, named by its field (`claims`, `payouts`).
    pub fn for_list(&self, list: &str) -> ListCursors {
        let mut mac = self.0.clone();
        mac.update(list.as_bytes());
        // The label ends before the id, so no label is a prefix of another's input.
        mac.update(&[0]);
        ListCursors(mac)
    }
}

/// Encodes and checks the cursors of one list.
#[derive(Clone)]
pub struct ListCursors(Hmac<Sha256>);

impl ListCursors {
    /// Encodes an item id as an opaque cursor.
    pub fn encode(&self, id: Uuid) -> String {
        let mut mac = self.0.clone();
        mac.update(id.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut bytes = [0u8; 16 + TAG_BYTES];
        bytes[..16].copy_from_slice(id.as_bytes());
        bytes[16..].copy_from_slice(&tag[..TAG_BYTES]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The id in a cursor [`Self::encode`] made for this list with this key;
    /// the tag is compared in constant time.
    pub fn decode(&self, cursor: &str) -> Result<Uuid, BadPage> {
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .filter(|b| b.len() == 16 + TAG_BYTES)
            .ok_or_else(|| BadPage("malformed cursor".into()))?;
        let (id, tag) = bytes.split_at(16);
        let mut mac = self.0.clone();
        mac.update(id);
        mac.verify_truncated_left(tag)
            .map_err(|_| BadPage("unknown cursor: use one this list returned".into()))?;
        Uuid::from_slice(id).map_err(|_| BadPage("malformed cursor".into()))
    }
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
    fn cursors_round_trip_and_reject_garbage_and_forgeries() {
        let key = CursorKey::derive(b"secret one").for_list("claims");
        let id = Uuid::now_v7();
        let cursor = key.encode(id);
        assert_eq!(key.decode(&cursor), Ok(id));
        // Another deployment's key, another list, a bare id, a changed id, a cut tag.
        let other = CursorKey::derive(b"secret two")
            .for_list("claims")
            .encode(id);
        let other_list = CursorKey::derive(b"secret one")
            .for_list("payouts")
            .encode(id);
        let bare = URL_SAFE_NO_PAD.encode(id.as_bytes());
        let mut bytes = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
        bytes[15] ^= 1;
        let changed = URL_SAFE_NO_PAD.encode(&bytes);
        let cut = &cursor[..cursor.len() - 2];
        for bad in [
            "",
            "!!",
            "AAAA",
            "not a cursor at all",
            &other,
            &other_list,
            &bare,
            &changed,
            cut,
        ] {
            assert!(key.decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn page_arguments_table() {
        let key = CursorKey::derive(b"k").for_list("list");
        let c = key.encode(Uuid::nil());
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
            let got = PageRequest::parse(*first, *after, *last, *before, &key)
                .map(|p| (p.size, p.direction))
                .map_err(|_| ());
            assert_eq!(&got, want, "{first:?} {after:?} {last:?} {before:?}");
        }
    }
}
