//! Evidence files: uploaded through the GraphQL multipart request spec for
//! `addClaimEvidence` only, typed from their bytes, stored by content, and
//! downloaded under guard with headers that keep a browser from rendering
//! them; on every backend.

use std::path::{Path, PathBuf};

use api::domain::Role;
use serde_json::{json, Value};
use tests::evidence::{
    download_url_of_size, gif, jpeg, pdf, png, png_claiming, text, upload_form, webp, UPLOAD,
};
use tests::{assert_error, fresh_database, settings_for, Backend, TestApp};

/// A claim under review, and the tokens of the people who handle it.
struct Desk {
    claim: String,
    agent: String,
    manager: String,
}

async fn desk(app: &TestApp) -> Desk {
    let shop = app.staff(&[Role::Integration]).await.token;
    let agent = app.staff(&[Role::SupportAgent]).await.token;
    let manager = app.staff(&[Role::RefundManager]).await.token;
    let order = app
        .delivered_order(&shop, "SO-EVIDENCE", "30.00", Some("2026-02-01T00:00:00Z"))
        .await;
    let body = app
        .submit_claim(&agent, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": "black screen", "channel": "EMAIL" }))
        .await;
    let claim = body["data"]["submitClaim"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    Desk {
        claim,
        agent,
        manager,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file below the test server's evidence folder.
fn stored_files(app_store: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(app_store, &mut out);
    out
}

fn store_folder(settings: &api::config::Settings) -> PathBuf {
    PathBuf::from(settings.evidence_store.strip_prefix("file://").unwrap())
}

async fn spawn(backend: Backend, max_bytes: usize) -> (TestApp, PathBuf) {
    let mut settings = settings_for(fresh_database(backend).await);
    settings.evidence_max_bytes = max_bytes;
    let folder = store_folder(&settings);
    (TestApp::spawn_with(backend, settings).await, folder)
}

async fn download(app: &TestApp, token: Option<&str>, url: &str) -> reqwest::Response {
    let mut req = app.client.get(app.url(url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn an_uploaded_screenshot_is_stored_by_content_and_downloaded_under_guard() {
    for backend in tests::backends() {
        let (app, folder) = spawn(backend, api::service::evidence::DEFAULT_MAX_BYTES).await;
        let d = desk(&app).await;
        let bytes = png();
        let (status, body) = app
            .upload_evidence(
                &d.agent,
                &d.claim,
                "Screen shot 2026-11-20.PNG",
                bytes.clone(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body["errors"].is_null(), "{backend:?}: {body}");
        let evidence = &body["data"]["addClaimEvidence"]["evidence"][0];
        let file = &evidence["file"];
        assert_eq!(file["fileName"], "Screen shot 2026-11-20.png");
        assert_eq!(
            file["contentType"], "image/png",
            "from the bytes, not the client's claim"
        );
        assert_eq!(file["size"], bytes.len());
        assert_eq!(file["sha256"], sha256_hex(&bytes));
        let url = file["downloadUrl"].as_str().unwrap().to_string();
        assert_eq!(
            url,
            format!("/evidence/{}/file", evidence["id"].as_str().unwrap())
        );
        let stored = stored_files(&folder);
        assert_eq!(stored.len(), 1, "{stored:?}");
        assert!(stored[0].ends_with(format!(
            "{}/{}",
            &sha256_hex(&bytes)[..2],
            sha256_hex(&bytes)
        )));

        // Larger than a part of the file store: written in parts, read back whole.
        let big = "stream error 0x1F at 00:12:34\n"
            .repeat(110_000)
            .into_bytes();
        let (_, body) = app
            .upload_evidence(&d.agent, &d.claim, "big.log", big.clone())
            .await;
        let big_url = download_url_of_size(&body, big.len());
        assert_eq!(
            download(&app, Some(&d.manager), &big_url)
                .await
                .bytes()
                .await
                .unwrap()
                .to_vec(),
            big
        );
        std::fs::remove_file(folder.join(&sha256_hex(&big)[..2]).join(sha256_hex(&big))).unwrap();
        assert_eq!(stored_files(&folder).len(), 1);

        // The same bytes again: one stored file, two rows.
        let (_, again) = app
            .upload_evidence(&d.agent, &d.claim, "copy.png", bytes.clone())
            .await;
        assert!(again["errors"].is_null(), "{again}");
        assert_eq!(stored_files(&folder).len(), 1);

        let res = download(&app, Some(&d.manager), &url).await;
        assert_eq!(res.status(), 200);
        let h = res.headers().clone();
        assert_eq!(h["content-type"], "image/png");
        assert_eq!(h["content-disposition"], "attachment; filename=\"Screen shot 2026-11-20.png\"; filename*=UTF-8''Screen%20shot%202026-11-20.png");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["content-security-policy"], "default-src 'none'; sandbox");
        assert_eq!(h["cache-control"], "private, no-store");
        assert_eq!(h["etag"], format!("\"{}\"", sha256_hex(&bytes)));
        assert_eq!(res.bytes().await.unwrap().to_vec(), bytes);

        // Who may download: the roles that read claims, except ANALYST.
        let analyst = app.staff(&[Role::Analyst]).await.token;
        let shop = app.staff(&[Role::Integration]).await.token;
        let finance = app.staff(&[Role::Finance]).await.token;
        assert_eq!(download(&app, Some(&analyst), &url).await.status(), 403);
        assert_eq!(download(&app, Some(&shop), &url).await.status(), 403);
        assert_eq!(download(&app, Some(&finance), &url).await.status(), 200);
        assert_eq!(download(&app, None, &url).await.status(), 401);
        assert_eq!(
            download(&app, Some("not-a-token"), &url).await.status(),
            401
        );
        assert_eq!(
            download(
                &app,
                Some(&d.manager),
                "/evidence/0190b5c8-0000-7000-8000-000000000000/file"
            )
            .await
            .status(),
            404
        );
        assert_eq!(
            download(&app, Some(&d.manager), "/evidence/../../etc/passwd/file")
                .await
                .status(),
            404
        );
        let admin = app.staff(&[Role::Admin]).await.token;
        let audit = app
            .graphql("{ auditLog(filter: { action: \"evidence.file.viewed\" }) { totalCount nodes { actor { id } details } } }", json!({}), Some(&admin))
            .await;
        // The big file's download, the manager's and FINANCE's.
        assert_eq!(audit["data"]["auditLog"]["totalCount"], 3, "{audit}");

        // The event carries the file's metadata.
        let events = app
            .graphql("query($s: ID) { events(first: 50, subjectId: $s, types: [CLAIM_EVIDENCE_ADDED]) { nodes { data } } }", json!({ "s": d.claim }), Some(&admin))
            .await;
        for _ in 0..50 {
            let events = app
                .graphql("query($s: ID) { events(first: 50, subjectId: $s, types: [CLAIM_EVIDENCE_ADDED]) { nodes { data } } }", json!({ "s": d.claim }), Some(&admin))
                .await;
            if events["data"]["events"]["nodes"]
                .as_array()
                .is_some_and(|n| !n.is_empty())
            {
                let data = &events["data"]["events"]["nodes"][0]["data"];
                assert_eq!(
                    data["evidence"]["file"]["sha256"],
                    sha256_hex(&bytes),
                    "{data}"
                );
                assert_eq!(data["evidence"]["file"]["contentType"], "image/png");
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        drop(events);
    }
}

#[tokio::test]
async fn every_accepted_type_is_recognised_from_its_bytes() {
    let (app, _) = spawn(Backend::Sqlite, api::service::evidence::DEFAULT_MAX_BYTES).await;
    let d = desk(&app).await;
    for (name, bytes, content_type, file_name) in [
        ("photo.jpeg", jpeg(), "image/jpeg", "photo.jpg"),
        ("anim.gif", gif(), "image/gif", "anim.gif"),
        ("shot.webp", webp(), "image/webp", "shot.webp"),
        ("invoice.pdf", pdf(), "application/pdf", "invoice.pdf"),
        (
            "player.log",
            text(),
            "text/plain; charset=utf-8",
            "player.txt",
        ),
        ("lies.png", pdf(), "application/pdf", "lies.pdf"),
    ] {
        let (_, body) = app.upload_evidence(&d.agent, &d.claim, name, bytes).await;
        let files: Vec<Value> = body["data"]["addClaimEvidence"]["evidence"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {body}"))
            .clone();
        let file = &files.last().unwrap()["file"];
        assert_eq!(file["contentType"], content_type, "{name}");
        assert_eq!(file["fileName"], file_name, "{name}");
    }
}

#[tokio::test]
async fn files_that_lie_or_do_not_fit_are_refused_and_leave_nothing() {
    for backend in tests::backends() {
        let (app, folder) = spawn(backend, 4096).await;
        let d = desk(&app).await;
        let mut polyglot = b"GIF89a\x01\x00\x01\x00".to_vec();
        polyglot.extend(b"<script>alert(document.cookie)</script>;");
        let mut truncated = png();
        truncated.truncate(40);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "page.png",
                b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec(),
                "markup",
            ),
            (
                "vector.svg",
                b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>".to_vec(),
                "markup",
            ),
            ("poly.gif", polyglot, "markup"),
            ("cut.png", truncated, "truncated"),
            ("bomb.png", png_claiming(100_000, 100_000), "megapixels"),
            ("empty.txt", Vec::new(), "empty"),
            (
                "archive.png",
                b"PK\x03\x04\x14\x00\x00\x00\x08\x00rest".to_vec(),
                "not a PNG",
            ),
            ("big.txt", vec![b'a'; 4097], "larger than 4096"),
        ];
        for (name, bytes, needle) in cases {
            let (status, body) = app.upload_evidence(&d.agent, &d.claim, name, bytes).await;
            assert_eq!(status, 200, "{name}: {body}");
            assert_error(&body, "BAD_USER_INPUT");
            let message = body["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains(needle), "{backend:?} {name}: {message}");
        }
        // Exactly at the limit is fine.
        let (_, body) = app
            .upload_evidence(&d.agent, &d.claim, "max.txt", vec![b'a'; 4096])
            .await;
        assert!(body["errors"].is_null(), "{body}");
        assert_eq!(
            app.count("claim_evidence").await,
            1,
            "{backend:?}: no row for a refused file"
        );
        assert_eq!(
            stored_files(&folder).len(),
            1,
            "{backend:?}: no file for a refused upload"
        );
        // Far over the limit: refused before it is read.
        let (status, _) = app
            .upload_evidence(&d.agent, &d.claim, "huge.txt", vec![b'a'; 2 << 20])
            .await;
        assert_eq!(status, 413);
    }
}

/// A multipart request assembled by hand.
fn form(
    operations: Value,
    map: Value,
    files: &[(&str, &str, Vec<u8>)],
) -> reqwest::multipart::Form {
    let mut f = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", map.to_string());
    for (part, name, bytes) in files {
        f = f.part(
            part.to_string(),
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    f
}

#[tokio::test]
async fn multipart_is_for_add_claim_evidence_alone_with_one_file_where_it_belongs() {
    let (app, folder) = spawn(Backend::Sqlite, api::service::evidence::DEFAULT_MAX_BYTES).await;
    let d = desk(&app).await;
    let vars = json!({ "c": d.claim, "input": { "kind": "SCREENSHOT", "file": null } });
    let upload = json!({ "query": UPLOAD, "variables": vars });
    let to_file = json!({ "0": ["variables.input.file"] });
    let cases: Vec<(&str, reqwest::multipart::Form)> = vec![
        (
            "a query",
            form(
                json!({ "query": "query($c: ID!) { claim(id: $c) { id } }", "variables": { "c": d.claim, "input": { "file": null } } }),
                to_file.clone(),
                &[("0", "a.png", png())],
            ),
        ),
        (
            "another mutation",
            form(
                json!({ "query": "mutation($c: ID!, $input: EvidenceInput!) { addClaimNote(claimId: $c, note: \"x\") { id } }", "variables": vars }),
                to_file.clone(),
                &[("0", "a.png", png())],
            ),
        ),
        (
            "two mutations",
            form(
                json!({ "query": format!("mutation($c: ID!, $input: EvidenceInput!) {{ a: addClaimEvidence(claimId: $c, input: $input) {{ id }} b: addClaimNote(claimId: $c, note: \"x\") {{ id }} }}"), "variables": vars }),
                to_file.clone(),
                &[("0", "a.png", png())],
            ),
        ),
        (
            "map pointing elsewhere",
            form(
                upload.clone(),
                json!({ "0": ["variables.input.text"] }),
                &[("0", "a.png", png())],
            ),
        ),
        (
            "map to a missing path",
            form(
                json!({ "query": UPLOAD, "variables": { "c": d.claim, "input": { "kind": "SCREENSHOT" } } }),
                to_file.clone(),
                &[("0", "a.png", png())],
            ),
        ),
        (
            "two files for one variable",
            form(
                upload.clone(),
                json!({ "0": ["variables.input.file"], "1": ["variables.input.file"] }),
                &[("0", "a.png", png()), ("1", "b.png", png())],
            ),
        ),
        (
            "one path twice",
            form(
                upload.clone(),
                json!({ "0": ["variables.input.file", "variables.input.file"] }),
                &[("0", "a.png", png())],
            ),
        ),
        (
            "a second file part",
            form(
                upload.clone(),
                to_file.clone(),
                &[("0", "a.png", png()), ("1", "b.png", png())],
            ),
        ),
        (
            "file part of another name",
            form(upload.clone(), to_file.clone(), &[("x", "a.png", png())]),
        ),
        ("no file part", form(upload.clone(), to_file.clone(), &[])),
        (
            "batched operations",
            form(
                json!([upload.clone()]),
                to_file.clone(),
                &[("0", "a.png", png())],
            ),
        ),
    ];
    for (name, f) in cases {
        let (status, body) = app.post_form(Some(&d.agent), f).await;
        assert_eq!(status, 400, "{name}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{name}: {body}"
        );
    }
    // Parts out of order.
    let f = reqwest::multipart::Form::new()
        .text("map", to_file.to_string())
        .text("operations", upload.to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(png()).file_name("a.png"),
        );
    assert_eq!(app.post_form(Some(&d.agent), f).await.0, 400);
    // A form body is still refused for plain requests.
    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&d.agent)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=%7B__typename%7D")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    // Roles that may not add evidence: refused before anything is stored.
    for role in [Role::Finance, Role::Analyst, Role::Integration] {
        let token = app.staff(&[role]).await.token;
        let (_, body) = app
            .post_form(
                Some(&token),
                upload_form(&d.claim, "SCREENSHOT", "a.png", png()),
            )
            .await;
        assert_error(&body, "FORBIDDEN");
    }
    let (_, body) = app
        .post_form(None, upload_form(&d.claim, "SCREENSHOT", "a.png", png()))
        .await;
    assert_error(&body, "UNAUTHENTICATED");
    // An unknown claim, or a field refused, is found before the file is
    // stored: nothing reaches the store either.
    let unknown = uuid::Uuid::now_v7().to_string();
    let (_, body) = app
        .upload_evidence(&d.manager, &unknown, "a.png", png())
        .await;
    assert_error(&body, "NOT_FOUND");
    let bad_url = json!({
        "query": UPLOAD,
        "variables": { "c": d.claim, "input": { "kind": "SCREENSHOT", "url": "javascript:alert(1)", "file": null } },
    });
    let f = reqwest::multipart::Form::new()
        .text("operations", bad_url.to_string())
        .text("map", json!({ "0": ["variables.input.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(png()).file_name("a.png"),
        );
    let (_, body) = app.post_form(Some(&d.manager), f).await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(app.count("claim_evidence").await, 0);
    assert!(stored_files(&folder).is_empty());
    // A name with folders is reduced to its base name, one of 10,000
    // characters to 100 (the rest: the unit test of `names.rs`); a part
    // header with a control character does not parse at all.
    let name = format!("../../{}.png", "x".repeat(300));
    let (_, body) = app
        .upload_evidence(&d.manager, &d.claim, &name, png())
        .await;
    let file = &body["data"]["addClaimEvidence"]["evidence"][0]["file"];
    assert_eq!(
        file["fileName"],
        format!("{}.png", "x".repeat(100)),
        "{body}"
    );
    let long = format!("{}.png", "y".repeat(10_000));
    let (_, body) = app
        .upload_evidence(&d.manager, &d.claim, &long, png())
        .await;
    let files = body["data"]["addClaimEvidence"]["evidence"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone();
    assert!(
        files
            .iter()
            .any(|e| e["file"]["fileName"] == format!("{}.png", "y".repeat(100))),
        "{body}"
    );
    let (status, body) = app
        .upload_evidence(&d.manager, &d.claim, "a\u{7}b.png", png())
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_store_that_fails_halfway_leaves_no_row_and_a_clean_error() {
    for backend in tests::backends() {
        let (app, folder) = spawn(backend, api::service::evidence::DEFAULT_MAX_BYTES).await;
        let d = desk(&app).await;
        // The folder becomes a plain file: every write into it fails.
        std::fs::remove_dir_all(&folder).unwrap();
        std::fs::write(&folder, b"not a folder").unwrap();
        let (status, body) = app
            .upload_evidence(&d.agent, &d.claim, "a.png", png())
            .await;
        assert_eq!(status, 200);
        assert_error(&body, "INTERNAL_SERVER_ERROR");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("request id")
                && !message.contains("folder")
                && !message.contains("/tmp"),
            "{message}"
        );
        assert_eq!(app.count("claim_evidence").await, 0, "{backend:?}");
        std::fs::remove_file(&folder).unwrap();
    }
}

#[tokio::test]
async fn the_collector_removes_files_no_row_names() {
    for backend in tests::backends() {
        let (app, folder) = spawn(backend, api::service::evidence::DEFAULT_MAX_BYTES).await;
        let d = desk(&app).await;
        let (_, body) = app
            .upload_evidence(&d.agent, &d.claim, "kept.png", png())
            .await;
        assert!(body["errors"].is_null(), "{body}");
        // An orphan: stored, but its row never committed.
        let orphan = b"an orphaned upload\n".to_vec();
        let sha = sha256_hex(&orphan);
        let dir = folder.join(&sha[..2]);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(&sha), &orphan).unwrap();
        let store = api::service::evidence::store::EvidenceStore::open(&format!(
            "file://{}",
            folder.display()
        ))
        .unwrap();
        // Young orphans stay (their row may be about to commit).
        let kept =
            api::service::evidence::collect_garbage(&app.db, &store, chrono::Duration::hours(24))
                .await
                .unwrap();
        assert_eq!((kept.removed, kept.kept), (0, 2), "{backend:?}");
        let done =
            api::service::evidence::collect_garbage(&app.db, &store, chrono::Duration::zero())
                .await
                .unwrap();
        assert_eq!((done.removed, done.kept), (1, 1), "{backend:?}");
        assert!(!dir.join(&sha).exists());
        assert_eq!(stored_files(&folder).len(), 1);
    }
}

/// A local S3-compatible server (moto, from the Python registry; `.ci/run`
/// installs it and sets `TEST_MOTO_SERVER`), with one bucket.
struct S3Server {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn s3_server(binary: &str, bucket: &str) -> S3Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let server = S3Server {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(res) = client
            .put(format!("{}/{bucket}", server.endpoint))
            .send()
            .await
        {
            assert!(res.status().is_success(), "create bucket: {}", res.status());
            return server;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto_server did not answer at {}", server.endpoint);
}

#[tokio::test]
async fn an_s3_store_keeps_and_serves_files_like_the_folder() {
    let Ok(binary) = std::env::var("TEST_MOTO_SERVER") else {
        eprintln!(
            "TEST_MOTO_SERVER is not set: the S3 store is tested in CI (.ci/run installs moto)"
        );
        return;
    };
    let s3 = s3_server(&binary, "evidence").await;
    // This test runs in a process of its own (nextest): the variables are
    // the S3 client's configuration, as in production.
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ENDPOINT_URL", &s3.endpoint);
    for backend in tests::backends() {
        let mut settings = settings_for(fresh_database(backend).await);
        settings.evidence_store = format!("s3://evidence/{backend:?}");
        let app = TestApp::spawn_with(backend, settings).await;
        let d = desk(&app).await;
        let bytes = pdf();
        let (_, body) = app
            .upload_evidence(&d.agent, &d.claim, "bank statement.pdf", bytes.clone())
            .await;
        assert!(body["errors"].is_null(), "{backend:?}: {body}");
        let file = &body["data"]["addClaimEvidence"]["evidence"][0]["file"];
        let sha = sha256_hex(&bytes);
        assert_eq!(file["sha256"], sha);
        // The object is in the bucket, named by its content.
        let store = api::service::evidence::store::EvidenceStore::open(&format!(
            "s3://evidence/{backend:?}"
        ))
        .unwrap();
        let listed = store.list().await.unwrap();
        assert_eq!(
            listed.iter().map(|f| f.sha256.as_str()).collect::<Vec<_>>(),
            [sha.as_str()],
            "{backend:?}"
        );
        assert_eq!(listed[0].size, bytes.len() as u64);
        let res = download(
            &app,
            Some(&d.manager),
            file["downloadUrl"].as_str().unwrap(),
        )
        .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/pdf");
        assert_eq!(res.bytes().await.unwrap().to_vec(), bytes);
        // Larger than a part: a multipart put, read back whole.
        let big = "player log line: buffering...\n"
            .repeat(220_000)
            .into_bytes();
        let (_, body) = app
            .upload_evidence(&d.agent, &d.claim, "player.log", big.clone())
            .await;
        let url = download_url_of_size(&body, big.len());
        let res = download(&app, Some(&d.manager), &url).await;
        assert_eq!(res.bytes().await.unwrap().to_vec(), big, "{backend:?}");
        store.delete(&sha256_hex(&big)).await.unwrap();
        // The collector lists and removes there too.
        let orphan = b"orphan\n".to_vec();
        store
            .put(&sha256_hex(&orphan), orphan.clone().into())
            .await
            .unwrap();
        let done =
            api::service::evidence::collect_garbage(&app.db, &store, chrono::Duration::zero())
                .await
                .unwrap();
        assert_eq!((done.removed, done.kept), (1, 1), "{backend:?}");
    }
}
