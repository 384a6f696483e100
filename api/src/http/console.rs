//! The staff console at `/console/` and GraphiQL at `GET /graphql` for
//! browsers, from the files the `console` crate compiled in.
//!
//! Who sends what: anyone who can reach the port can fetch these files; they
//! hold no data and no secrets (the console reads everything through the
//! API with the signed-in person's token). The worst path is a traversal
//! (`/console/../Cargo.toml`, encoded or not): only embedded names resolve,
//! so anything else is a 404.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use crate::config::Environment;

/// The console's pages: only this server's own scripts, styles and API; no
/// inline script or style, no frames, no plugins.
const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob: data:; font-src 'self'; connect-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// GraphiQL's React components set inline styles and its stylesheet embeds
/// fonts as data: URLs; scripts and connections stay same-origin only.
const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `GET /console`: the app lives at `/console/` so its relative URLs resolve.
pub async fn redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/console/"))
        .finish()
}

/// `GET /console/{path}`: an embedded file, or the app's page for `/console/`.
pub async fn file(
    req: HttpRequest,
    state: actix_web::web::Data<crate::http::AppState>,
) -> HttpResponse {
    let path = req.match_info().query("path");
    // rust-embed reads `\` as a folder separator; refusing it keeps the one
    // spelling the production check below sees (`vendor%5Cx.js` is 404).
    if path.contains('\\') {
        return HttpResponse::NotFound().finish();
    }
    let path = if path.is_empty() { "index.html" } else { path };
    // GraphiQL's files go with GraphiQL: not served in production.
    let developer_only = path.starts_with("graphiql/") || path.starts_with("vendor/");
    if developer_only && state.settings.environment == Environment::Production {
        return HttpResponse::NotFound().finish();
    }
    serve(&req, path, CONSOLE_CSP)
}

/// GraphiQL's page, for `GET /graphql` from a browser outside production.
pub fn graphiql(req: &HttpRequest) -> HttpResponse {
    serve(req, "graphiql/index.html", GRAPHIQL_CSP)
}

fn serve(req: &HttpRequest, path: &str, csp: &'static str) -> HttpResponse {
    let Some(asset) = console::get(path) else {
        return HttpResponse::NotFound().finish();
    };
    let etag = format!("\"{}\"", asset.digest);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        // Revalidate every time: a new binary must never leave a browser on
        // an old page talking to a changed API.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    if fresh {
        return response.finish();
    }
    response.content_type(asset.content_type).body(asset.bytes)
}
