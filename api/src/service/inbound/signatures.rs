//! The senders' signature schemes, checked on the raw bytes in constant
//! time (`Mac::verify_slice`).
//!
//! - WooCommerce: `X-WC-Webhook-Signature` = base64(HMAC-SHA256(secret, body)).
//! - Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, valid when
//!   some `v1` is hex(HMAC-SHA256(secret, "{t}.{body}")) and `t` is within
//!   [`STRIPE_TOLERANCE_SECS`] of now (a replayed old request fails).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far a Stripe timestamp may be from our clock, either way.
pub const STRIPE_TOLERANCE_SECS: i64 = 300;

/// How many `v1` values one header may carry (Stripe sends one per active
/// secret; a long list is an attempt to make us hash many times).
const MAX_STRIPE_SIGNATURES: usize = 8;

fn mac(secret: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(secret).expect("HMAC takes any key length")
}

/// True when `header` is the WooCommerce signature of `body`.
pub fn woocommerce_valid(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Ok(claimed) = base64::engine::general_purpose::STANDARD.decode(header.trim()) else {
        return false;
    };
    let mut m = mac(secret);
    m.update(body);
    m.verify_slice(&claimed).is_ok()
}

/// Why a Stripe signature was refused (logged, never shown in detail).
#[derive(Debug, PartialEq, Eq)]
pub enum StripeRefusal {
    Malformed,
    OutsideTolerance,
    NoMatch,
}

/// Checks a `Stripe-Signature` header against `body` at `now` (unix seconds).
pub fn stripe_check(
    secret: &[u8],
    body: &[u8],
    header: &str,
    now: i64,
) -> Result<(), StripeRefusal> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(StripeRefusal::Malformed)?;
        match key {
            "t" => timestamp = Some(value.parse::<i64>().map_err(|_| StripeRefusal::Malformed)?),
            "v1" => signatures.push(value),
            // v0 (test-mode legacy) and future schemes are not ours to check.
            _ => {}
        }
    }
    let t = timestamp.ok_or(StripeRefusal::Malformed)?;
    if signatures.is_empty() || signatures.len() > MAX_STRIPE_SIGNATURES {
        return Err(StripeRefusal::Malformed);
    }
    if (now - t).abs() > STRIPE_TOLERANCE_SECS {
        return Err(StripeRefusal::OutsideTolerance);
    }
    let mut signed = mac(secret);
    signed.update(t.to_string().as_bytes());
    signed.update(b".");
    signed.update(body);
    let matched = signatures
        .iter()
        .any(|s| hex::decode(s).is_ok_and(|claimed| signed.clone().verify_slice(&claimed).is_ok()));
    if matched {
        Ok(())
    } else {
        Err(StripeRefusal::NoMatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Stripe's documented example: the v1 is HMAC-SHA256 over "{t}.{body}".
    fn stripe_header(secret: &str, t: i64, body: &[u8]) -> String {
        let mut m = mac(secret.as_bytes());
        m.update(format!("{t}.").as_bytes());
        m.update(body);
        format!("t={t},v1={}", hex::encode(m.finalize().into_bytes()))
    }

    #[test]
    fn woocommerce_signatures_are_base64_hmacs_of_the_raw_body() {
        // Independent of our code: `printf '{"id":1}' | openssl dgst -sha256 -hmac secret -binary | base64`.
        let expected = "A971iWIMgT8Zj9A9eWfikrFj7wQ16/Qwcc4OlRl2PLc=";
        assert!(woocommerce_valid(b"secret", br#"{"id":1}"#, expected));
        assert!(!woocommerce_valid(b"secret", br#"{"id":2}"#, expected));
        assert!(!woocommerce_valid(b"other", br#"{"id":1}"#, expected));
        assert!(!woocommerce_valid(b"secret", br#"{"id":1}"#, "not base64!"));
        assert!(!woocommerce_valid(b"secret", br#"{"id":1}"#, ""));
    }

    #[test]
    fn stripe_headers_are_checked_by_table() {
        let body = br#"{"id":"evt_1"}"#;
        let good = stripe_header("whsec_test", 1_700_000_000, body);
        let good_sig = good.split_once(",v1=").unwrap().1.to_string();
        let now = 1_700_000_000;
        let cases: Vec<(&str, String, i64, Result<(), StripeRefusal>)> = vec![
            ("valid", good.clone(), now, Ok(())),
            ("299 s late", good.clone(), now + 299, Ok(())),
            ("300 s late", good.clone(), now + 300, Ok(())),
            (
                "301 s late",
                good.clone(),
                now + 301,
                Err(StripeRefusal::OutsideTolerance),
            ),
            (
                "301 s early",
                good.clone(),
                now - 301,
                Err(StripeRefusal::OutsideTolerance),
            ),
            (
                "one of several v1",
                format!("t={now},v1=00ff,v1={good_sig},v0=abc"),
                now,
                Ok(()),
            ),
            (
                "wrong signature",
                format!("t={now},v1={}", "0".repeat(64)),
                now,
                Err(StripeRefusal::NoMatch),
            ),
            (
                "other timestamp",
                format!("t={},v1={good_sig}", now + 1),
                now,
                Err(StripeRefusal::NoMatch),
            ),
            (
                "no v1",
                format!("t={now},v0={good_sig}"),
                now,
                Err(StripeRefusal::Malformed),
            ),
            (
                "no t",
                format!("v1={good_sig}"),
                now,
                Err(StripeRefusal::Malformed),
            ),
            (
                "t not a number",
                format!("t=abc,v1={good_sig}"),
                now,
                Err(StripeRefusal::Malformed),
            ),
            (
                "garbage",
                "garbage".into(),
                now,
                Err(StripeRefusal::Malformed),
            ),
            ("empty", String::new(), now, Err(StripeRefusal::Malformed)),
            (
                "odd hex",
                format!("t={now},v1=abc"),
                now,
                Err(StripeRefusal::NoMatch),
            ),
            (
                "too many v1",
                format!("t={now}{}", ",v1=00".repeat(9)),
                now,
                Err(StripeRefusal::Malformed),
            ),
        ];
        for (name, header, at, expected) in cases {
            assert_eq!(
                stripe_check(b"whsec_test", body, &header, at),
                expected,
                "{name}"
            );
        }
        // Over other bytes, the same header fails.
        assert_eq!(
            stripe_check(b"whsec_test", br#"{"id":"evt_2"}"#, &good, now),
            Err(StripeRefusal::NoMatch)
        );
    }
}
