//! The money invariant under load: approvals, payout failures, retries and
//! chargebacks racing on the same orders, through two servers sharing one
//! database. Afterwards no order may have live payouts that, with its open or
//! lost chargebacks, exceed its total.

use tests::{on_every_backend, race};

#[tokio::test]
async fn the_money_invariant_holds_under_racing_operations_on_two_servers() {
    on_every_backend(|app| async move {
        let sibling = app.sibling().await;
        let report = race::run(&app, vec![app.url("/graphql"), sibling.url("/graphql")]).await;
        println!(
            "{:?}: {} operations in {:?} on two servers",
            app.backend, report.operations, report.elapsed
        );
        let summary = race::check_invariant(&app.db).await;
        println!("{:?}: {summary}", app.backend);
    })
    .await;
}
