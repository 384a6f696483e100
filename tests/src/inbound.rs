//! Inbound webhooks as WooCommerce and Stripe send them: the fixtures of
//! `tests/fixtures/inbound`, signed over the exact bytes posted.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::TestApp;

/// The test servers' secrets (see `settings_for`).
pub const WOOCOMMERCE_SECRET: &str = "wc-test-secret-0123456789";
pub const STRIPE_SECRET: &str = "whsec_dGVzdC1zZWNyZXQtMDEyMzQ1Njc4OQ";

/// A fixture as JSON, to adjust before posting.
pub fn fixture(path: &str) -> Value {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/inbound")
        .join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn hmac_sha256(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `X-WC-Webhook-Signature`: base64 of HMAC-SHA256 over the raw body.
pub fn woocommerce_signature(secret: &str, body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(secret.as_bytes(), &[body]))
}

/// `Stripe-Signature` at unix time `t`.
pub fn stripe_signature(secret: &str, t: i64, body: &[u8]) -> String {
    let v1: String = hmac_sha256(secret.as_bytes(), &[t.to_string().as_bytes(), b".", body])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={v1}")
}

/// An answer: the HTTP status and the JSON body (Null when not JSON).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn status_of_message(&self) -> &str {
        self.body["status"].as_str().unwrap_or_default()
    }
}

async fn answer(res: reqwest::Response) -> Answer {
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(Value::Null);
    Answer { status, body }
}

impl TestApp {
    /// Posts `body` as WooCommerce does, with the headers given (a `None`
    /// signature is computed with the test secret).
    pub async fn post_woocommerce_raw(
        &self,
        topic: Option<&str>,
        delivery_id: Option<&str>,
        signature: Option<String>,
        body: Vec<u8>,
    ) -> Answer {
        let signature =
            signature.unwrap_or_else(|| woocommerce_signature(WOOCOMMERCE_SECRET, &body));
        let mut req = self
            .client
            .post(self.url("/integrations/woocommerce"))
            .header("content-type", "application/json")
            .header("user-agent", "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)")
            .header("x-wc-webhook-source", "https://shop.example.com/")
            .header("x-wc-webhook-resource", "order")
            .header("x-wc-webhook-id", "7")
            .header("x-wc-webhook-signature", signature);
        if let Some(t) = topic {
            req = req
                .header("x-wc-webhook-topic", t)
                .header("x-wc-webhook-event", t.split('.').nth(1).unwrap_or(""));
        }
        if let Some(d) = delivery_id {
            req = req.header("x-wc-webhook-delivery-id", d);
        }
        answer(req.body(body).send().await.expect("request sent")).await
    }

    /// Posts an order object for `topic`, signed, with `delivery_id`.
    pub async fn post_woocommerce(&self, topic: &str, delivery_id: &str, order: &Value) -> Answer {
        let body = serde_json::to_vec(order).expect("JSON");
        self.post_woocommerce_raw(Some(topic), Some(delivery_id), None, body)
            .await
    }

    /// Posts raw bytes with a `Stripe-Signature` header as given.
    pub async fn post_stripe_raw(&self, signature: Option<String>, body: Vec<u8>) -> Answer {
        let mut req = self
            .client
            .post(self.url("/integrations/stripe"))
            .header("content-type", "application/json; charset=utf-8")
            .header(
                "user-agent",
                "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            );
        if let Some(s) = signature {
            req = req.header("stripe-signature", s);
        }
        answer(req.body(body).send().await.expect("request sent")).await
    }

    /// Posts a Stripe event signed now with the test secret.
    pub async fn post_stripe(&self, event: &Value) -> Answer {
        let body = serde_json::to_vec(event).expect("JSON");
        let t = chrono::Utc::now().timestamp();
        let signature = stripe_signature(STRIPE_SECRET, t, &body);
        self.post_stripe_raw(Some(signature), body).await
    }
}
