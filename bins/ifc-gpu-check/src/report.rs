//! The result table.

/// One line of the table: a check, whether it passed, and its numbers.
#[derive(Debug, Clone)]
pub struct Row {
    pub check: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    pub fn add(&mut self, check: impl Into<String>, passed: bool, detail: impl Into<String>) {
        let row = Row { check: check.into(), passed, detail: detail.into() };
        eprintln!("{} {}: {}", if row.passed { "PASS" } else { "FAIL" }, row.check, row.detail);
        self.rows.push(row);
    }

    pub fn all_passed(&self) -> bool {
        !self.rows.is_empty() && self.rows.iter().all(|r| r.passed)
    }

    pub fn table(&self) -> String {
        let width = self.rows.iter().map(|r| r.check.len()).max().unwrap_or(5).max(5);
        let mut out = format!("{:<width$}  {:<6}  detail\n", "check", "result");
        for r in &self.rows {
            out.push_str(&format!(
                "{:<width$}  {:<6}  {}\n",
                r.check,
                if r.passed { "PASS" } else { "FAIL" },
                r.detail
            ));
        }
        out
    }
}
