//! Small SQL helpers that differ per backend.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, SimpleExpr};
use sea_orm::{DbBackend, IntoSimpleExpr};

/// `SUM(col)` as a 64-bit integer on every backend (PostgreSQL sums BIGINT
/// into NUMERIC and MySQL into DECIMAL, which would not decode as i64).
pub fn sum_i64(backend: DbBackend, col: impl IntoSimpleExpr) -> SimpleExpr {
    let ty = match backend {
        DbBackend::MySql => "SIGNED",
        DbBackend::Postgres => "BIGINT",
        _ => "INTEGER",
    };
    // Only used with GROUP BY, where every group has rows: SUM is never NULL.
    Expr::expr(Func::sum(col.into_simple_expr())).cast_as(Alias::new(ty))
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
