//! Small SQL helpers that differ per backend.

use sea_orm::sea_query::{CaseStatement, Expr, SimpleExpr};
use sea_orm::{ColumnTrait, DbBackend, Value};
use uuid::Uuid;

/// Each amount is summed in two parts: `amount DIV SPLIT` and `amount MOD
/// SPLIT`. A plain `SUM` of BIGINT overflows differently on each backend
/// (SQLite raises an error, PostgreSQL's cast back to BIGINT fails, MariaDB's
/// cast to SIGNED silently clips); the parts grow by at most 10^6 per row,
/// since amounts are at most 10^12 minor units, so they would need 9·10^12
/// rows to overflow. [`wide`] joins them in `i128`.
pub const SPLIT: i64 = 1_000_000;

/// The SQL of the two parts of `SUM(column)` (see [`SPLIT`]), each a 64-bit
/// integer on every backend: (high, low).
pub fn sum_parts_sql(backend: DbBackend, column: &str) -> (String, String) {
    let (div, ty) = match backend {
        DbBackend::MySql => ("DIV", "SIGNED"),
        DbBackend::Postgres => ("/", "BIGINT"),
        _ => ("/", "INTEGER"),
    };
    (
        format!("CAST(SUM({column} {div} {SPLIT}) AS {ty})"),
        format!("CAST(SUM({column} % {SPLIT}) AS {ty})"),
    )
}

/// [`sum_parts_sql`] as query-builder expressions.
pub fn sum_parts(backend: DbBackend, column: &str) -> (SimpleExpr, SimpleExpr) {
    let (high, low) = sum_parts_sql(backend, column);
    (Expr::cust(high), Expr::cust(low))
}

/// `CASE WHEN id = … THEN … END`: each row's own value in one multi-row
/// `UPDATE`, which is one round trip (and on SQLite one hold of the write
/// turn) instead of one statement per row. The statement must update only
/// rows among `values`: any other would get NULL.
pub fn value_by_id<C: ColumnTrait>(
    id: C,
    values: impl IntoIterator<Item = (Uuid, Value)>,
) -> SimpleExpr {
    values
        .into_iter()
        .fold(CaseStatement::new(), |case, (row, value)| {
            case.case(id.eq(row), Expr::val(value))
        })
        .into()
}

/// Joins the two parts of a sum (truncating division and remainder on every
/// backend, so negative amounts join back exactly too).
pub fn wide(high: i64, low: i64) -> i128 {
    i128::from(high) * i128::from(SPLIT) + i128::from(low)
}

/// Escapes `%`, `_` and `\` for a LIKE pattern (used with `ESCAPE '\'`).
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A slot per backend (0 to 2), for SQL kept per backend: `DbBackend` is not
/// `Hash`, and statements built once per process are kept in arrays or maps
/// by this number.
pub fn backend_slot(backend: DbBackend) -> u8 {
    match backend {
        DbBackend::Sqlite => 0,
        DbBackend::Postgres => 1,
        _ => 2,
    }
}

/// Numbered placeholders for PostgreSQL, `?` elsewhere.
pub fn placeholders(backend: DbBackend, sql: &str) -> String {
    if backend != DbBackend::Postgres {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len());
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}
