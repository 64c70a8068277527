//! Products (the registry of what the lines make) and lots (read from the results: a lot
//! exists once a result carries it).

use super::{now_ms, Db, DbError};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ProductRow {
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at_ms: i64,
}

/// One lot's results: counts and the span of their wall times.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LotRow {
    pub product: Option<String>,
    pub lot: String,
    pub ok: i64,
    pub ng: i64,
    pub first_ms: i64,
    pub last_ms: i64,
}

impl Db {
    pub async fn create_product(&self, code: &str, name: &str, description: Option<&str>) -> Result<ProductRow, DbError> {
        let row = ProductRow {
            code: code.to_owned(),
            name: name.to_owned(),
            description: description.map(str::to_owned),
            created_at_ms: now_ms(),
        };
        sqlx::query("INSERT INTO products (code, name, description, created_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(&row.code)
            .bind(&row.name)
            .bind(&row.description)
            .bind(row.created_at_ms)
            .execute(self.pool())
            .await
            .map_err(|e| DbError::conflict_or(e, format!("product {code:?}")))?;
        Ok(row)
    }

    pub async fn products(&self) -> Result<Vec<ProductRow>, DbError> {
        Ok(sqlx::query_as("SELECT code, name, description, created_at_ms FROM products ORDER BY code")
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn product(&self, code: &str) -> Result<ProductRow, DbError> {
        sqlx::query_as("SELECT code, name, description, created_at_ms FROM products WHERE code = $1")
            .bind(code)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| DbError::not_found(format!("product {code}")))
    }

    /// Removes the product from the registry; results keep the code they were stored with.
    pub async fn delete_product(&self, code: &str) -> Result<(), DbError> {
        let done = sqlx::query("DELETE FROM products WHERE code = $1").bind(code).execute(self.pool()).await?;
        if done.rows_affected() == 0 {
            return Err(DbError::not_found(format!("product {code}")));
        }
        Ok(())
    }

    /// The lots results carry (of `product` when given), the most recently active first.
    pub async fn lots(&self, product: Option<&str>, limit: i64) -> Result<Vec<LotRow>, DbError> {
        let filter = if product.is_some() { "AND product = $2" } else { "" };
        let sql = format!(
            "SELECT product, lot, \
             SUM(CASE WHEN verdict = 'ok' THEN 1 ELSE 0 END) AS ok, \
             SUM(CASE WHEN verdict = 'ng' THEN 1 ELSE 0 END) AS ng, \
             MIN(wall_ms) AS first_ms, MAX(wall_ms) AS last_ms \
             FROM results WHERE lot IS NOT NULL {filter} \
             GROUP BY product, lot ORDER BY MAX(wall_ms) DESC, lot LIMIT $1"
        );
        let mut query = sqlx::query_as(&sql).bind(limit);
        if let Some(p) = product {
            query = query.bind(p);
        }
        Ok(query.fetch_all(self.pool()).await?)
    }
}
