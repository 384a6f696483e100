//! The refund report: every figure computed by the database (GROUP BY per
//! bucket), never by loading rows into the process.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use super::sql::{placeholders, sum_parts_sql, wide};
use crate::domain::Currency;
use crate::error::{AppError, AppResult};

/// Reporting bucket sizes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Interval {
    Day,
    Week,
    Month,
}

/// Longest range reported by day (three years).
pub const MAX_DAY_RANGE_DAYS: i64 = 3 * 366;

/// One bucket's figures. Money sums are `i128`: they add up any number of
/// amounts (`sql::SPLIT` says how the database sums them without overflow).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub orders_paid: i64,
    pub revenue: i128,
    pub claims_submitted: i64,
    pub claims_approved: i64,
    pub claims_rejected: i64,
    pub refunded: i128,
    pub chargebacks_opened: i64,
    pub payouts_overdue: i64,
    pub median_hours_to_decision: Option<f64>,
}

impl Figures {
    fn add(&mut self, other: &Figures) {
        self.orders_paid += other.orders_paid;
        self.revenue += other.revenue;
        self.claims_submitted += other.claims_submitted;
        self.claims_approved += other.claims_approved;
        self.claims_rejected += other.claims_rejected;
        self.refunded += other.refunded;
        self.chargebacks_opened += other.chargebacks_opened;
        self.payouts_overdue += other.payouts_overdue;
    }
}

/// The whole report.
#[derive(Clone, Debug)]
pub struct Report {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub currency: Currency,
    pub totals: Figures,
    pub buckets: Vec<(DateTime<Utc>, Figures)>,
    /// (reason, count, requested amount) of claims submitted in the range.
    pub by_reason: Vec<(String, i64, i128)>,
    /// (status, count) of claims submitted in the range.
    pub by_status: Vec<(String, i64)>,
}

/// The start of the bucket holding `t` (UTC; weeks start on Monday).
pub fn bucket_start(t: DateTime<Utc>, interval: Interval) -> NaiveDate {
    let d = t.date_naive();
    match interval {
        Interval::Day => d,
        Interval::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
        Interval::Month => d.with_day(1).unwrap_or(d),
    }
}

fn next_bucket(d: NaiveDate, interval: Interval) -> NaiveDate {
    match interval {
        Interval::Day => d + Duration::days(1),
        Interval::Week => d + Duration::days(7),
        Interval::Month => d.checked_add_months(chrono::Months::new(1)).unwrap_or(d),
    }
}

/// SQL for the bucket key ('YYYY-MM-DD') of a timestamp column.
fn bucket_sql(backend: DbBackend, col: &str, interval: Interval) -> String {
    match (backend, interval) {
        (DbBackend::Postgres, Interval::Day) => {
            format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
        }
        (DbBackend::Postgres, Interval::Week) => {
            format!("to_char(date_trunc('week', {col} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')")
        }
        (DbBackend::Postgres, Interval::Month) => {
            format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-01')")
        }
        (DbBackend::MySql, Interval::Day) => format!("DATE_FORMAT({col}, '%Y-%m-%d')"),
        (DbBackend::MySql, Interval::Week) => {
            format!("DATE_FORMAT(DATE({col}) - INTERVAL WEEKDAY({col}) DAY, '%Y-%m-%d')")
        }
        (DbBackend::MySql, Interval::Month) => format!("DATE_FORMAT({col}, '%Y-%m-01')"),
        (_, Interval::Day) => format!("date({col})"),
        (_, Interval::Week) => format!(
            "date({col}, '-' || ((CAST(strftime('%w', {col}) AS INTEGER) + 6) % 7) || ' days')"
        ),
        (_, Interval::Month) => format!("strftime('%Y-%m-01', {col})"),
    }
}

/// Seconds between two timestamp columns.
fn seconds_between(backend: DbBackend, start: &str, end: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("EXTRACT(EPOCH FROM ({end} - {start}))"),
        DbBackend::MySql => format!("TIMESTAMPDIFF(SECOND, {start}, {end})"),
        // Whole seconds: julianday() arithmetic would add float noise.
        _ => format!(
            "(CAST(strftime('%s', {end}) AS INTEGER) - CAST(strftime('%s', {start}) AS INTEGER))"
        ),
    }
}

fn int_type(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::MySql => "SIGNED",
        _ => "BIGINT",
    }
}

/// Runs a grouped query whose rows are (bucket `k`, count `a`, and `b` as
/// the two parts `bh`, `bl` of a sum); returns (bucket, a, b).
async fn grouped<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: Vec<Value>,
) -> AppResult<Vec<(String, i64, i128)>> {
    let backend = conn.get_database_backend();
    let stmt = Statement::from_sql_and_values(backend, placeholders(backend, sql), values);
    let rows = conn.query_all_raw(stmt).await?;
    rows.into_iter()
        .map(|r| {
            Ok((
                r.try_get::<String>("", "k")?,
                r.try_get::<i64>("", "a")?,
                wide(r.try_get::<i64>("", "bh")?, r.try_get::<i64>("", "bl")?),
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(AppError::from)
}

/// The select list of a sum as `grouped` reads it (`bh`, `bl`).
fn sum_of(backend: DbBackend, column: &str) -> String {
    let (high, low) = sum_parts_sql(backend, column);
    format!("{high} AS bh, {low} AS bl")
}

/// A count as `grouped` reads it in place of a sum.
fn count_of(int: &str, expr: &str) -> String {
    format!("CAST(0 AS {int}) AS bh, CAST({expr} AS {int}) AS bl")
}

/// Builds the report for [from, to) in `currency`.
#[tracing::instrument(skip(conn))]
pub async fn build<C: ConnectionTrait>(
    conn: &C,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    interval: Interval,
    currency: Currency,
) -> AppResult<Report> {
    if from >= to {
        return Err(AppError::bad_input("from must be before to"));
    }
    if interval == Interval::Day && to - from > Duration::days(MAX_DAY_RANGE_DAYS) {
        return Err(AppError::bad_input(
            "a DAY report covers at most three years; use WEEK or MONTH",
        ));
    }
    let backend = conn.get_database_backend();
    let int = int_type(backend);
    let cur = currency.code();
    let range = |col: &str| format!("{col} >= ? AND {col} < ?");
    let vals = || vec![Value::from(cur), Value::from(from), Value::from(to)];
    let b = |col: &str| bucket_sql(backend, col, interval);

    let mut by_bucket: BTreeMap<String, Figures> = BTreeMap::new();
    let orders = format!(
        "SELECT {k} AS k, CAST(COUNT(*) AS {int}) AS a, {s} FROM orders WHERE currency = ? AND {r} GROUP BY {k}",
        s = sum_of(backend, "total_minor"),
        k = b("paid_at"),
        r = range("paid_at")
    );
    for (k, a, s) in grouped(conn, &orders, vals()).await? {
        let f = by_bucket.entry(k).or_default();
        f.orders_paid = a;
        f.revenue = s;
    }
    let submitted = format!(
        "SELECT {k} AS k, CAST(COUNT(*) AS {int}) AS a, {z} FROM refund_claims WHERE currency = ? AND {r} GROUP BY {k}",
        z = count_of(int, "0"),
        k = b("submitted_at"),
        r = range("submitted_at")
    );
    for (k, a, _) in grouped(conn, &submitted, vals()).await? {
        by_bucket.entry(k).or_default().claims_submitted = a;
    }
    let decided = format!(
        "SELECT {k} AS k, CAST(SUM(CASE WHEN status IN ('APPROVED','REFUNDED') THEN 1 ELSE 0 END) AS {int}) AS a, \
         {rejected} \
         FROM refund_claims WHERE currency = ? AND decided_at IS NOT NULL AND {r} GROUP BY {k}",
        rejected = count_of(int, "SUM(CASE WHEN status = 'REJECTED' THEN 1 ELSE 0 END)"),
        k = b("decided_at"),
        r = range("decided_at")
    );
    for (k, a, rj) in grouped(conn, &decided, vals()).await? {
        let f = by_bucket.entry(k).or_default();
        f.claims_approved = a;
        // A count of at most the rows read: it fits.
        f.claims_rejected = i64::try_from(rj).unwrap_or(i64::MAX);
    }
    let refunded = format!(
        "SELECT {k} AS k, CAST(COUNT(*) AS {int}) AS a, {s} FROM payouts WHERE currency = ? AND status = 'SETTLED' AND {r} GROUP BY {k}",
        s = sum_of(backend, "amount_minor"),
        k = b("settled_at"),
        r = range("settled_at")
    );
    for (k, _, s) in grouped(conn, &refunded, vals()).await? {
        by_bucket.entry(k).or_default().refunded = s;
    }
    let chargebacks = format!(
        "SELECT {k} AS k, CAST(COUNT(*) AS {int}) AS a, {z} FROM chargebacks WHERE currency = ? AND {r} GROUP BY {k}",
        z = count_of(int, "0"),
        k = b("opened_at"),
        r = range("opened_at")
    );
    for (k, a, _) in grouped(conn, &chargebacks, vals()).await? {
        by_bucket.entry(k).or_default().chargebacks_opened = a;
    }
    let overdue = format!(
        "SELECT {k} AS k, CAST(COUNT(*) AS {int}) AS a, {z} FROM payouts WHERE currency = ? AND {r} \
         AND status IN ('PENDING','SENT') AND expected_latest < ? GROUP BY {k}",
        z = count_of(int, "0"),
        k = b("initiated_at"),
        r = range("initiated_at")
    );
    let mut overdue_vals = vals();
    overdue_vals.push(Value::from(Utc::now().date_naive()));
    for (k, a, _) in grouped(conn, &overdue, overdue_vals).await? {
        by_bucket.entry(k).or_default().payouts_overdue = a;
    }
    let medians = median_hours(conn, Some(interval), currency, from, to).await?;
    for (k, m) in medians {
        by_bucket.entry(k).or_default().median_hours_to_decision = Some(m);
    }

    // Every bucket of the range, empty ones included.
    let mut buckets = Vec::new();
    let mut totals = Figures::default();
    let mut day = bucket_start(from, interval);
    while Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default()) < to {
        let key = day.format("%Y-%m-%d").to_string();
        let figures = by_bucket.remove(&key).unwrap_or_default();
        totals.add(&figures);
        buckets.push((
            Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default()),
            figures,
        ));
        day = next_bucket(day, interval);
    }
    totals.median_hours_to_decision = median_hours(conn, None, currency, from, to)
        .await?
        .into_values()
        .next();

    let reasons = format!(
        "SELECT reason AS k, CAST(COUNT(*) AS {int}) AS a, {s} FROM refund_claims WHERE currency = ? AND {r} GROUP BY reason ORDER BY reason",
        s = sum_of(backend, "requested_minor"),
        r = range("submitted_at")
    );
    let by_reason = grouped(conn, &reasons, vals()).await?;
    let statuses = format!(
        "SELECT status AS k, CAST(COUNT(*) AS {int}) AS a, {z} FROM refund_claims WHERE currency = ? AND {r} GROUP BY status ORDER BY status",
        z = count_of(int, "0"),
        r = range("submitted_at")
    );
    let by_status = grouped(conn, &statuses, vals())
        .await?
        .into_iter()
        .map(|(k, a, _)| (k, a))
        .collect();
    Ok(Report {
        from,
        to,
        currency,
        totals,
        buckets,
        by_reason,
        by_status,
    })
}

/// Median hours from submission to decision of the claims decided in each
/// bucket (or in the whole range when `interval` is None), computed by the
/// database with window functions: the middle row(s) per bucket, averaged.
async fn median_hours<C: ConnectionTrait>(
    conn: &C,
    interval: Option<Interval>,
    currency: Currency,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<HashMap<String, f64>> {
    let backend = conn.get_database_backend();
    let key = match interval {
        Some(i) => bucket_sql(backend, "decided_at", i),
        None => "'all'".to_string(),
    };
    let secs = seconds_between(backend, "submitted_at", "decided_at");
    let sql = format!(
        "SELECT k, CAST(AVG(s) AS DOUBLE PRECISION) AS m FROM (\
           SELECT {key} AS k, CAST({secs} AS DOUBLE PRECISION) AS s, \
             ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY {secs}) AS rn, \
             COUNT(*) OVER (PARTITION BY {key}) AS cnt \
           FROM refund_claims WHERE currency = ? AND decided_at IS NOT NULL AND decided_at >= ? AND decided_at < ?\
         ) ranked WHERE rn * 2 >= cnt AND rn * 2 <= cnt + 2 GROUP BY k"
    );
    let sql = if backend == DbBackend::MySql {
        sql.replace("DOUBLE PRECISION", "DOUBLE")
    } else if backend == DbBackend::Sqlite {
        sql.replace("DOUBLE PRECISION", "REAL")
    } else {
        sql
    };
    let stmt = Statement::from_sql_and_values(
        backend,
        placeholders(backend, &sql),
        vec![
            Value::from(currency.code()),
            Value::from(from),
            Value::from(to),
        ],
    );
    let rows = conn.query_all_raw(stmt).await?;
    let mut out = HashMap::new();
    for r in rows {
        let k: String = r.try_get("", "k")?;
        let m: f64 = r.try_get("", "m")?;
        out.insert(k, m / 3600.0);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_start_on_utc_days_iso_mondays_and_month_firsts() {
        let t = Utc.with_ymd_and_hms(2026, 11, 27, 23, 59, 59).unwrap(); // a Friday
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(bucket_start(t, Interval::Day), d(2026, 11, 27));
        assert_eq!(bucket_start(t, Interval::Week), d(2026, 11, 23));
        assert_eq!(bucket_start(t, Interval::Month), d(2026, 11, 1));
        let monday = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
        assert_eq!(bucket_start(monday, Interval::Week), d(2026, 11, 23));
        assert_eq!(next_bucket(d(2026, 1, 31), Interval::Month), d(2026, 2, 28));
    }

    #[test]
    fn postgres_placeholders_are_numbered() {
        assert_eq!(
            placeholders(DbBackend::Postgres, "a = ? AND b < ?"),
            "a = $1 AND b < $2"
        );
        assert_eq!(placeholders(DbBackend::MySql, "a = ?"), "a = ?");
    }
}
