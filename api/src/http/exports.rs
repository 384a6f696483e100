//! CSV exports: `GET /exports/claims.csv` and `GET /exports/payouts.csv`.
//!
//! The GraphQL lists' filters arrive as query parameters; rows are read in
//! keyset pages and each page is written out as one chunk of a streamed body,
//! so memory stays constant whatever the number of rows. An export that
//! streams longer than `EXPORT_TIME_LIMIT_SECS` (a huge range, a client
//! reading slowly) stops between pages without its final chunk: the client
//! sees a cut download, never a complete-looking partial file.
//!
//! Text that came from outside (order numbers, emails, payment references)
//! goes through [`text`]: a spreadsheet would run a cell starting with `=`,
//! `+`, `-`, `@`, tab or carriage return as a formula (OWASP "CSV injection"), so such a cell gets
//! a leading `'`. Ids, enums, amounts and times are ours and never start so.

use std::fmt::Display;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use crate::service::db::Db;
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::stream;
use tracing::{Instrument, Span};
use uuid::Uuid;

use super::response::app_error_response;
use super::{authenticate, credentials, AppState};
use crate::auth::guard::roles;
use crate::auth::{AuthState, Principal};
use crate::domain::email::mask_email;
use crate::domain::{Currency, Email, Money};
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::service::claim_list::{ClaimOrder, ClaimQuery};
use crate::service::exports;
use crate::service::payouts::PayoutQuery;
use crate::service::text::exact_filter;
use crate::service::{in_time_range, truncate_micros, TIME_RANGE};

/// Header rows, as in DESIGN.md "Limits and exports".
const CLAIM_COLUMNS: &str = "id,submitted_at,status,reason,eligibility,rule,order_number,customer_email,requested_amount,approved_amount,currency,decided_at,decided_by";
const PAYOUT_COLUMNS: &str = "id,claim_id,order_number,amount,currency,method,status,initiated_at,expected_latest,settled_at,external_reference";

/// `GET /exports/claims.csv`: the `claims` list's filters and sorts.
pub async fn claims_csv(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let export = async {
        let mask = !authorize(&req, &state)
            .await?
            .has_any(roles::CONTACT_DETAIL_READERS);
        claims_export(Params::parse(req.query_string())?, mask)
    };
    respond(&req, &state, "claims.csv", export.await).await
}

/// `GET /exports/payouts.csv`: the `payouts` list's filters, newest first.
pub async fn payouts_csv(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let export = async {
        authorize(&req, &state).await?;
        payouts_export(Params::parse(req.query_string())?)
    };
    respond(&req, &state, "payouts.csv", export.await).await
}

/// The same token check as GraphQL requests, then the roles table's "CSV exports" row.
async fn authorize(req: &HttpRequest, state: &AppState) -> AppResult<Principal> {
    match authenticate(credentials(req, state), state).await? {
        AuthState::Staff(p) if p.has_any(roles::REPORTERS) => Ok(p),
        AuthState::Staff(_) => Err(AppError::Forbidden),
        AuthState::Anonymous | AuthState::Rejected => Err(AppError::Unauthenticated),
    }
}

/// What one export reads; fixed for the whole stream.
enum Export {
    Claims {
        filter: ClaimQuery,
        sort: ClaimOrder,
        mask: bool,
    },
    Payouts(PayoutQuery),
}

fn claims_export(mut p: Params, mask: bool) -> AppResult<Export> {
    let filter = ClaimQuery {
        status: p.list("status")?,
        reason: p.list("reason")?,
        eligibility: p.list("eligibility")?,
        submitted_from: p.time("submittedFrom")?,
        submitted_to: p.time("submittedTo")?,
        customer_email: p
            .take("customerEmail")
            .map(|e| Email::parse(&e).map_err(|e| bad(format!("customerEmail: {e}"))))
            .transpose()?,
        order_number: exact_filter(p.take("orderNumber"), "orderNumber")?,
        assignee_id: p
            .take("assigneeId")
            .map(|s| Uuid::parse_str(&s).map_err(|_| bad("assigneeId: malformed id")))
            .transpose()?,
    };
    let sort = match p.take("sort") {
        None => ClaimOrder::default(),
        Some(name) => <ClaimOrder as async_graphql::InputType>::parse(Some(
            async_graphql::Value::Enum(async_graphql::Name::new(&name)),
        ))
        .map_err(|_| bad(format!("sort: unknown ClaimSort {name:?}")))?,
    };
    p.finish()?;
    Ok(Export::Claims { filter, sort, mask })
}

fn payouts_export(mut p: Params) -> AppResult<Export> {
    let overdue_only = match p.take("overdueOnly").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(bad("overdueOnly must be true or false")),
    };
    let filter = PayoutQuery {
        status: p.list("status")?,
        overdue_only,
        initiated_from: p.time("initiatedFrom")?,
        initiated_to: p.time("initiatedTo")?,
    };
    p.finish()?;
    Ok(Export::Payouts(filter))
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::bad_input(message)
}

/// Query parameters, each taken once; whatever is left over is an error, so a
/// misspelt filter fails loudly instead of silently exporting everything.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: &str) -> AppResult<Params> {
        let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
            .map_err(|_| bad("malformed query string"))?
            .into_inner();
        for (i, (k, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(seen, _)| seen == k) {
                return Err(bad(format!("parameter {k} is given more than once")));
            }
        }
        Ok(Params(pairs))
    }

    fn take(&mut self, name: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.swap_remove(i).1)
    }

    /// Comma-separated enum names; empty items are skipped, so `status=`
    /// means no filter, like an empty list in GraphQL.
    fn list<T: FromStr<Err = E>, E: Display>(&mut self, name: &str) -> AppResult<Vec<T>> {
        let Some(raw) = self.take(name) else {
            return Ok(Vec::new());
        };
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(|e| bad(format!("{name}: {e}"))))
            .collect()
    }

    /// RFC 3339, converted to UTC and kept to the microsecond like the
    /// GraphQL `DateTime` scalar.
    fn time(&mut self, name: &str) -> AppResult<Option<DateTime<Utc>>> {
        let Some(raw) = self.take(name) else {
            return Ok(None);
        };
        // An unencoded `+02:00` offset arrives as ` 02:00` (form decoding), a
        // common client slip that is unambiguous to repair.
        let t = DateTime::parse_from_rfc3339(&raw)
            .or_else(|_| DateTime::parse_from_rfc3339(&raw.replace(' ', "+")))
            .map_err(|_| bad(format!("{name}: expected an RFC 3339 date-time")))?
            .with_timezone(&Utc);
        if !in_time_range(t) {
            return Err(bad(format!("{name}: date-times must lie {TIME_RANGE}")));
        }
        Ok(Some(truncate_micros(t)))
    }

    fn finish(self) -> AppResult<()> {
        match self.0.first() {
            Some((k, _)) => Err(bad(format!("unknown parameter {k}"))),
            None => Ok(()),
        }
    }
}

/// One page as CSV bytes, and the id to resume after when more rows follow.
struct Chunk {
    csv: Vec<u8>,
    next: Option<Uuid>,
}

impl Export {
    /// The page after `after` as CSV (the header row comes with the first).
    async fn page(&self, db: &Db, after: Option<Uuid>) -> AppResult<Chunk> {
        let mut out = csv::Writer::from_writer(Vec::new());
        let next = match self {
            Export::Claims { filter, sort, mask } => {
                let page = exports::claims(db, filter, *sort, after).await?;
                if after.is_none() {
                    out.write_record(CLAIM_COLUMNS.split(','))
                        .map_err(AppError::internal)?;
                }
                for line in &page.lines {
                    let c = &line.claim;
                    let cur = Currency::parse(&c.currency).map_err(AppError::internal)?;
                    let email = line.customer_email.clone().unwrap_or_default();
                    out.write_record([
                        c.id.to_string(),
                        time(c.submitted_at),
                        c.status.clone(),
                        c.reason.clone(),
                        c.eligibility_outcome.clone(),
                        c.eligibility_rule.clone(),
                        text(line.order_number.as_ref()),
                        text(Some(&if *mask { mask_email(&email) } else { email })),
                        amount(c.requested_minor, cur),
                        c.approved_minor.map(|m| amount(m, cur)).unwrap_or_default(),
                        cur.code().to_string(),
                        c.decided_at.map(time).unwrap_or_default(),
                        text(line.decided_by_email.as_ref()),
                    ])
                    .map_err(AppError::internal)?;
                }
                page.next
            }
            Export::Payouts(filter) => {
                let page = exports::payouts(db, filter, after).await?;
                if after.is_none() {
                    out.write_record(PAYOUT_COLUMNS.split(','))
                        .map_err(AppError::internal)?;
                }
                for line in &page.lines {
                    let p = &line.payout;
                    let cur = Currency::parse(&p.currency).map_err(AppError::internal)?;
                    out.write_record([
                        p.id.to_string(),
                        p.claim_id.to_string(),
                        text(line.order_number.as_ref()),
                        amount(p.amount_minor, cur),
                        cur.code().to_string(),
                        p.method.clone(),
                        p.status.clone(),
                        time(p.initiated_at),
                        p.expected_latest.to_string(),
                        p.settled_at.map(time).unwrap_or_default(),
                        text(p.external_reference.as_ref()),
                    ])
                    .map_err(AppError::internal)?;
                }
                page.next
            }
        };
        let csv = out
            .into_inner()
            .map_err(|e| AppError::internal(e.into_error()))?;
        Ok(Chunk { csv, next })
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn amount(minor: i64, currency: Currency) -> String {
    Money::from_minor(minor, currency).to_decimal_string()
}

/// A text cell that a spreadsheet will show as text, never run as a formula.
fn text(value: Option<&String>) -> String {
    let value = value.map(String::as_str).unwrap_or_default();
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

/// What the body stream carries from one chunk to the next.
struct Streaming {
    db: Db,
    export: Export,
    next: Next,
    metrics: Arc<Metrics>,
    /// When the next page may no longer be read.
    deadline: Instant,
    // The body is polled after the handler returned, outside its request
    // span; re-entering it keeps the request id on mid-stream log lines.
    span: Span,
}

enum Next {
    Ready(Chunk),
    After(Uuid),
    Done,
}

async fn respond(
    req: &HttpRequest,
    state: &AppState,
    filename: &str,
    export: AppResult<Export>,
) -> HttpResponse {
    // The first page is read before answering, so that a failing database
    // still gets a proper 500 rather than a 200 cut short.
    let started = async {
        let export = export?;
        let first = export.page(&state.db, None).await?;
        Ok::<_, AppError>((export, first))
    };
    let (export, first) = match started.await {
        Ok(started) => started,
        Err(err) => return app_error_response(req, &state.metrics, &err, "CSV export"),
    };
    let streaming = Streaming {
        db: state.db.clone(),
        export,
        next: Next::Ready(first),
        metrics: state.metrics.clone(),
        deadline: Instant::now() + state.settings.export_time_limit,
        span: Span::current(),
    };
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        // Personal data: keep it out of shared caches.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(stream::unfold(streaming, next_chunk))
}

/// Yields the pending chunk or reads the next page. The stream is polled only
/// when the connection can take more, so at most one page is held at a time.
async fn next_chunk(mut s: Streaming) -> Option<(Result<Bytes, std::io::Error>, Streaming)> {
    let chunk = match std::mem::replace(&mut s.next, Next::Done) {
        Next::Done => return None,
        Next::Ready(chunk) => chunk,
        Next::After(_) if Instant::now() >= s.deadline => {
            s.span.in_scope(|| {
                tracing::warn!("CSV export stopped at its time limit (EXPORT_TIME_LIMIT_SECS)");
            });
            return Some((Err(std::io::Error::other("CSV export time limit")), s));
        }
        Next::After(id) => match s
            .export
            .page(&s.db, Some(id))
            .instrument(s.span.clone())
            .await
        {
            Ok(chunk) => chunk,
            Err(err) => {
                s.span.in_scope(|| {
                    tracing::error!(cause = %err.describe(), "CSV export aborted mid-stream");
                });
                s.metrics.observe_error(err.code());
                // An error item makes actix drop the connection without the
                // final chunk, so the client sees a truncated download, not
                // a complete-looking file. `next` is already Done.
                return Some((Err(std::io::Error::other("CSV export aborted")), s));
            }
        },
    };
    s.next = chunk.next.map_or(Next::Done, Next::After);
    Some((Ok(Bytes::from(chunk.csv)), s))
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    /// A payouts export about to read its second page from a database with
    /// no tables (so that read fails as a lost database would), due to stop
    /// at `deadline`.
    async fn second_page_of_nothing(deadline: Instant) -> Streaming {
        Streaming {
            db: crate::service::db::connect("sqlite::memory:", 1)
                .await
                .unwrap(),
            export: Export::Payouts(PayoutQuery::default()),
            next: Next::After(Uuid::now_v7()),
            metrics: Arc::default(),
            deadline,
            span: Span::none(),
        }
    }

    #[tokio::test]
    async fn a_database_error_mid_stream_ends_the_stream_with_an_error() {
        let later = Instant::now() + std::time::Duration::from_secs(60);
        let streaming = second_page_of_nothing(later).await;
        let mut body = Box::pin(stream::unfold(streaming, next_chunk));
        assert!(body.next().await.is_some_and(|item| item.is_err()));
        assert!(body.next().await.is_none(), "nothing after the error");
    }

    #[tokio::test]
    async fn past_its_time_limit_the_stream_ends_with_an_error_before_reading_more() {
        // Reading the page would fail differently, so this error shows the
        // deadline stopped the stream first.
        let streaming = second_page_of_nothing(Instant::now()).await;
        let mut body = Box::pin(stream::unfold(streaming, next_chunk));
        let item = body.next().await.expect("an item");
        assert_eq!(item.unwrap_err().to_string(), "CSV export time limit");
        assert!(body.next().await.is_none(), "nothing after the error");
    }
}

#[cfg(test)]
mod text_cells {
    use super::text;

    #[test]
    fn cells_a_spreadsheet_would_run_as_formulas_are_quoted() {
        let cases = [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1-555", "'+1-555"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "'\tcmd"),
            ("\rcmd", "'\rcmd"),
            ("WIRE-2026-0001", "WIRE-2026-0001"),
            ("a=b", "a=b"),
            ("jane@example.com", "jane@example.com"),
            ("", ""),
        ];
        for (given, expected) in cases {
            assert_eq!(text(Some(&given.to_string())), expected, "{given:?}");
        }
        assert_eq!(text(None), "");
    }
}
