//! The console's and GraphiQL's files as a browser gets them: the redirect,
//! the security headers, revalidation, every reference resolving, and no
//! way out of the embedded folder. What the pages do is tested in a real
//! browser by `tests/browser`.

use std::collections::BTreeSet;

use tests::{Backend, TestApp};

const CSP_MUST: [&str; 5] = [
    "default-src 'none'",
    "script-src 'self';",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
];

#[tokio::test]
async fn console_is_served_with_a_strict_policy_and_revalidates() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = plain.get(app.url("/console")).send().await.unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/console/");

    let res = app.client.get(app.url("/console/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-cache");
    let csp = headers["content-security-policy"].to_str().unwrap();
    for rule in CSP_MUST.iter().chain(&["style-src 'self';"]) {
        assert!(csp.contains(rule), "{rule} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(html.contains("<html"), "{html}");

    // An unchanged file is a 304 with no body; a changed validator is a 200.
    let etag = headers["etag"].to_str().unwrap().to_string();
    let res = app
        .client
        .get(app.url("/console/"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    assert!(res.bytes().await.unwrap().is_empty());
    let res = app
        .client
        .get(app.url("/console/"))
        .header("if-none-match", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// Every script, stylesheet and module import reachable from the console's
/// and GraphiQL's pages resolves with the right type: a renamed file cannot
/// leave a blank page behind a green build.
#[tokio::test]
async fn every_file_a_page_loads_is_served_with_its_type() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let graphiql = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(graphiql.status(), 200);
    let csp = graphiql.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    for rule in CSP_MUST {
        assert!(csp.contains(rule), "{rule} missing from GraphiQL's {csp}");
    }
    let graphiql = graphiql.text().await.unwrap();
    assert!(graphiql.contains("graphiql.min.js"), "{graphiql}");
    let console = app
        .client
        .get(app.url("/console/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let mut pending: Vec<String> = references("/console/", &console);
    pending.extend(references("/graphql", &graphiql));
    let mut seen = BTreeSet::new();
    while let Some(path) = pending.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let res = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let kind = res.headers()["content-type"].to_str().unwrap().to_string();
        let body = res.text().await.unwrap();
        if path.ends_with(".js") {
            assert!(kind.starts_with("text/javascript"), "{path}: {kind}");
            pending.extend(references(&path, &body));
        } else if path.ends_with(".css") {
            assert!(kind.starts_with("text/css"), "{path}: {kind}");
        }
    }
    assert!(
        seen.len() >= 6,
        "the pages load their files from /console/: {seen:?}"
    );
    // Every module of the console is reached from its page: none is left
    // unreferenced, and none is referenced under a wrong name.
    for path in console::paths() {
        if (path.starts_with("pages/") || path.starts_with("lib/")) && path.ends_with(".js") {
            assert!(
                seen.contains(&format!("/console/{path}")),
                "{path} is never loaded: {seen:?}"
            );
        }
    }
}

#[tokio::test]
async fn nothing_outside_the_embedded_folder_is_reachable() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for path in [
        "/console/../Cargo.toml",
        "/console/%2e%2e/Cargo.toml",
        "/console/..%2fCargo.toml",
        "/console/vendor/../../api/Cargo.toml",
        "/console/%2fetc%2fpasswd",
        "/console//etc/passwd",
        "/console/nope.js",
        "/console/index.html%00.js",
        "/console/..%5CCargo.toml",
        "/console/..%5C..%5CCargo.toml",
        "/console/%2e%2e%2fCargo.toml",
        "/console/vendor%5C..%5C..%5CCargo.toml",
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert!(
            status == 404 || status == 400,
            "{path}: {status} {body:.200}"
        );
        assert!(
            !body.contains("[package]") && !body.contains("root:"),
            "{path}"
        );
    }
}

/// Same-origin paths a page or module loads: `src`/`href` attributes and
/// static or dynamic `import`s, resolved against `base`.
fn references(base: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for marker in [
        "src=\"",
        "href=\"",
        "from \"",
        "import \"",
        "import(\"",
        "from '",
        "import '",
        "import('",
    ] {
        let quote = if marker.ends_with('\'') { '\'' } else { '"' };
        let mut rest = text;
        while let Some(at) = rest.find(marker) {
            rest = &rest[at + marker.len()..];
            let Some(end) = rest.find(quote) else { break };
            let target = &rest[..end];
            if let Some(path) = resolve(base, target) {
                found.push(path);
            }
        }
    }
    found
}

fn resolve(base: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return Some(target.to_string());
    }
    if !(target.starts_with("./") || target.starts_with("../")) {
        return None;
    }
    let mut parts: Vec<&str> = base.split('/').collect();
    parts.pop();
    for segment in target.split('/') {
        match segment {
            "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}
