//! Staff administration: ADMIN only, audited, validated.

use serde_json::json;
use tests::{assert_error, on_every_backend, TestApp, PASSWORD};

use api::domain::Role;

const CREATE: &str = "mutation($i: CreateStaffInput!){ createStaff(input: $i) { id email name roles active createdAt } }";

fn new_staff(email: &str) -> serde_json::Value {
    json!({ "i": { "email": email, "name": "Ada Agent", "password": PASSWORD, "roles": ["SUPPORT_AGENT"] } })
}

#[tokio::test]
async fn admin_creates_staff_and_the_audit_log_records_it() {
    on_every_backend(|app| async move {
        let admin = app.staff(&[Role::Admin]).await;
        let body = app.graphql(CREATE, new_staff(" Ada@Example.COM "), Some(&admin.token)).await;
        let created = &body["data"]["createStaff"];
        assert_eq!(created["email"], "ada@example.com", "{body}");
        assert_eq!(created["roles"], json!(["SUPPORT_AGENT"]));
        assert_eq!(created["active"], true);
        let id = created["id"].as_str().unwrap().to_string();

        let audit = app
            .graphql(
                "query($id: ID!){ auditLog(filter: { entityId: $id }) { totalCount nodes { action entityType entityId actor { id } requestId details } } }",
                json!({ "id": id }),
                Some(&admin.token),
            )
            .await;
        let entries = &audit["data"]["auditLog"];
        assert_eq!(entries["totalCount"], 1, "{audit}");
        let entry = &entries["nodes"][0];
        assert_eq!(entry["action"], "staff.create");
        assert_eq!(entry["entityType"], "staff");
        assert_eq!(entry["actor"]["id"], admin.id.as_str());
        assert!(entry["requestId"].is_string());
        assert_eq!(entry["details"]["email"], "ada@example.com");

        // The new account can log in.
        app.login("ada@example.com", PASSWORD).await;
        // The same email again is a conflict, whatever its case.
        let dup = app.graphql(CREATE, new_staff("ADA@example.com"), Some(&admin.token)).await;
        assert_error(&dup, "CONFLICT");
    })
    .await;
}

#[tokio::test]
async fn invalid_staff_input_is_rejected_and_nothing_is_written() {
    on_every_backend(|app| async move {
        let admin = app.staff(&[Role::Admin]).await;
        let before = (app.count("staff").await, app.count("audit_log").await);
        let cases = [
            json!({ "i": { "email": "not-an-email", "name": "X", "password": PASSWORD, "roles": ["ADMIN"] } }),
            json!({ "i": { "email": "x@example.com", "name": "X", "password": "short", "roles": ["ADMIN"] } }),
            json!({ "i": { "email": "x@example.com", "name": "  ", "password": PASSWORD, "roles": ["ADMIN"] } }),
            json!({ "i": { "email": "x@example.com", "name": "X", "password": PASSWORD, "roles": [] } }),
            json!({ "i": { "email": "x@example.com", "name": "X", "password": PASSWORD, "roles": ["ROOT"] } }),
        ];
        for vars in cases {
            let body = app.graphql(CREATE, vars.clone(), Some(&admin.token)).await;
            assert_error(&body, "BAD_USER_INPUT");
            assert!(body["data"].is_null(), "{vars}: {body}");
        }
        assert_eq!((app.count("staff").await, app.count("audit_log").await), before);
    })
    .await;
}

/// Every staff mutation, with variables that would succeed for an admin.
async fn staff_mutations(app: &TestApp) -> Vec<(&'static str, serde_json::Value)> {
    let target = app.staff(&[Role::Analyst]).await;
    vec![
        (CREATE, new_staff("someone@example.com")),
        (
            "mutation($id: ID!){ setStaffRoles(staffId: $id, roles: [ADMIN]) { id } }",
            json!({ "id": target.id }),
        ),
        (
            "mutation($id: ID!){ deactivateStaff(staffId: $id) { id } }",
            json!({ "id": target.id }),
        ),
    ]
}

#[tokio::test]
async fn only_admins_may_administer_staff() {
    on_every_backend(|app| async move {
        let mutations = staff_mutations(&app).await;
        let non_admins = [
            Role::RefundManager,
            Role::Finance,
            Role::SupportAgent,
            Role::Analyst,
            Role::Integration,
        ];
        let before = (
            app.count("staff").await + non_admins.len() as i64,
            app.count("audit_log").await + non_admins.len() as i64,
        );
        for role in non_admins {
            let who = app.staff(&[role]).await;
            for (query, vars) in &mutations {
                let body = app.graphql(query, vars.clone(), Some(&who.token)).await;
                assert_error(&body, "FORBIDDEN");
            }
            let list = app
                .graphql("{ staff { totalCount } }", json!({}), Some(&who.token))
                .await;
            assert_error(&list, "FORBIDDEN");
        }
        for (query, vars) in &mutations {
            assert_error(
                &app.graphql(query, vars.clone(), None).await,
                "UNAUTHENTICATED",
            );
        }
        // Only the accounts the test itself created were written.
        assert_eq!(
            (app.count("staff").await, app.count("audit_log").await),
            before
        );
    })
    .await;
}

#[tokio::test]
async fn admins_cannot_deactivate_themselves_and_unknown_ids_are_not_found() {
    on_every_backend(|app| async move {
        let admin = app.staff(&[Role::Admin]).await;
        let q = "mutation($id: ID!){ deactivateStaff(staffId: $id) { id } }";
        assert_error(
            &app.graphql(q, json!({ "id": admin.id }), Some(&admin.token))
                .await,
            "BAD_USER_INPUT",
        );
        let missing = uuid::Uuid::now_v7().to_string();
        assert_error(
            &app.graphql(q, json!({ "id": missing }), Some(&admin.token))
                .await,
            "NOT_FOUND",
        );
        assert_error(
            &app.graphql(q, json!({ "id": "nope" }), Some(&admin.token))
                .await,
            "BAD_USER_INPUT",
        );
        let twice = app.staff(&[Role::Finance]).await;
        assert!(app
            .graphql(q, json!({ "id": twice.id }), Some(&admin.token))
            .await["errors"]
            .is_null());
        assert_error(
            &app.graphql(q, json!({ "id": twice.id }), Some(&admin.token))
                .await,
            "INVALID_TRANSITION",
        );
    })
    .await;
}

#[tokio::test]
async fn staff_and_audit_lists_page_forwards_with_stable_cursors() {
    on_every_backend(|app| async move {
        let admin = app.staff(&[Role::Admin]).await;
        for _ in 0..4 {
            app.staff(&[Role::Finance]).await;
        }
        let q = "query($a: String){ staff(first: 2, after: $a) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id } } }";
        let mut seen = Vec::new();
        let mut after = serde_json::Value::Null;
        loop {
            let body = app.graphql(q, json!({ "a": after }), Some(&admin.token)).await;
            let page = &body["data"]["staff"];
            assert_eq!(page["totalCount"], 5, "{body}");
            for n in page["nodes"].as_array().unwrap() {
                seen.push(n["id"].as_str().unwrap().to_string());
            }
            if page["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen.len(), 5);
        let mut sorted = seen.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), 5, "no duplicates across pages");
        assert_error(&app.graphql("{ staff(first: 101) { totalCount } }", json!({}), Some(&admin.token)).await, "BAD_USER_INPUT");
        assert_error(&app.graphql("{ staff(after: \"zzz\") { totalCount } }", json!({}), Some(&admin.token)).await, "BAD_USER_INPUT");

        // Analysts read the audit log; finance may not.
        let analyst = app.staff(&[Role::Analyst]).await;
        let finance = app.staff(&[Role::Finance]).await;
        let audit = "{ auditLog(first: 3, filter: { action: \"staff.create\" }) { totalCount nodes { action } } }";
        let body = app.graphql(audit, json!({}), Some(&analyst.token)).await;
        assert_eq!(body["data"]["auditLog"]["totalCount"], 7, "{body}");
        assert_eq!(body["data"]["auditLog"]["nodes"].as_array().unwrap().len(), 3);
        assert_error(&app.graphql(audit, json!({}), Some(&finance.token)).await, "FORBIDDEN");
    })
    .await;
}

#[tokio::test]
async fn addresses_that_only_look_the_same_are_refused_or_the_same() {
    on_every_backend(|app| async move {
        let admin = app.staff(&[Role::Admin]).await;
        let body = app
            .graphql(CREATE, new_staff("ada@example.com"), Some(&admin.token))
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let before = app.count("staff").await;
        // Invisible characters are refused outright ...
        for look_alike in [
            "ada\u{200B}@example.com",
            "\u{FEFF}ada@example.com",
            "ad\u{00AD}a@example.com",
            "ada@exam\u{200D}ple.com",
        ] {
            let body = app
                .graphql(CREATE, new_staff(look_alike), Some(&admin.token))
                .await;
            assert_error(&body, "BAD_USER_INPUT");
        }
        // ... and compatibility forms are the same address.
        for same in ["ＡＤＡ@example.com", "ada@ｅxample.com"] {
            let body = app
                .graphql(CREATE, new_staff(same), Some(&admin.token))
                .await;
            assert_error(&body, "CONFLICT");
        }
        assert_eq!(
            app.count("staff").await,
            before,
            "{:?}: nothing written",
            app.backend
        );
    })
    .await;
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_demoted_or_deactivated() {
    on_every_backend(|app| async move {
        let admin = app.staff(&[Role::Admin]).await;
        let roles =
            "mutation($id: ID!, $r: [Role!]!){ setStaffRoles(staffId: $id, roles: $r) { roles } }";
        let body = app
            .graphql(
                roles,
                json!({ "id": admin.id, "r": ["FINANCE"] }),
                Some(&admin.token),
            )
            .await;
        assert_error(&body, "CONFLICT");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("last active ADMIN"),
            "{body}"
        );
        // Keeping ADMIN beside another role is fine (and revokes the tokens).
        let body = app
            .graphql(
                roles,
                json!({ "id": admin.id, "r": ["ADMIN", "FINANCE"] }),
                Some(&admin.token),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let admin_token = app.login(&admin.email, PASSWORD).await;
        // With a second admin, either may go, but not both.
        let second = app.staff(&[Role::Admin]).await;
        let deactivate = "mutation($id: ID!){ deactivateStaff(staffId: $id) { active } }";
        let body = app
            .graphql(deactivate, json!({ "id": second.id }), Some(&admin_token))
            .await;
        assert_eq!(body["data"]["deactivateStaff"]["active"], false, "{body}");
        let third = app.staff(&[Role::Admin]).await;
        let body = app
            .graphql(
                roles,
                json!({ "id": admin.id, "r": ["FINANCE"] }),
                Some(&third.token),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let body = app
            .graphql(deactivate, json!({ "id": admin.id }), Some(&third.token))
            .await;
        assert!(
            body["errors"].is_null(),
            "a non-admin may be deactivated: {body}"
        );
        let body = app
            .graphql(
                roles,
                json!({ "id": third.id, "r": ["ANALYST"] }),
                Some(&third.token),
            )
            .await;
        assert_error(&body, "CONFLICT");
    })
    .await;
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    on_every_backend(|app| async move {
        let sibling = app.sibling().await;
        for round in 0..5 {
            let a = app.staff(&[Role::Admin]).await;
            let b = app.staff(&[Role::Admin]).await;
            // Every earlier admin steps down first, so a and b are the only ones.
            use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
            let pair: Vec<uuid::Uuid> = [&a.id, &b.id].iter().map(|id| id.parse().unwrap()).collect();
            entity::staff::Entity::update_many()
                .col_expr(entity::staff::Column::Active, sea_orm::sea_query::Expr::value(false))
                .filter(entity::staff::Column::Id.is_not_in(pair))
                .exec(&app.db)
                .await
                .unwrap();
            let roles = "mutation($id: ID!, $r: [Role!]!){ setStaffRoles(staffId: $id, roles: $r) { roles } }";
            let (x, y) = tokio::join!(
                app.graphql(roles, json!({ "id": b.id, "r": ["FINANCE"] }), Some(&a.token)),
                sibling.graphql(roles, json!({ "id": a.id, "r": ["FINANCE"] }), Some(&b.token)),
            );
            let codes = [tests::error_code(&x), tests::error_code(&y)];
            let admins = app
                .db
                .query_one_raw(sea_orm::Statement::from_string(
                    app.db.get_database_backend(),
                    "SELECT COUNT(*) AS n FROM staff WHERE active = true AND roles LIKE '%ADMIN%'",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap();
            assert_eq!(admins, 1, "{:?} round {round}: {codes:?} {x} {y}", app.backend);
            assert!(codes.iter().all(|c| c.is_none() || *c == Some("CONFLICT") || *c == Some("UNAUTHENTICATED")), "{codes:?}");
        }
    })
    .await;
}
