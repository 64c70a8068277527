//! The check's output: lines as they happen (stdout and the log file) and one table at the end.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

pub struct Row {
    pub check: String,
    pub subject: String,
    /// `Some(true)` pass, `Some(false)` fail, `None` a measurement with no threshold.
    pub pass: Option<bool>,
    pub detail: String,
}

pub struct Report {
    log: File,
    path: PathBuf,
    rows: Vec<Row>,
}

impl Report {
    pub fn new(path: PathBuf) -> Result<Self> {
        let log = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { log, path, rows: Vec::new() })
    }

    /// A line of progress, printed and logged.
    pub fn line(&mut self, text: &str) -> Result<()> {
        println!("{text}");
        writeln!(self.log, "{text}").with_context(|| format!("writing {}", self.path.display()))
    }

    pub fn row(&mut self, check: &str, subject: &str, pass: Option<bool>, detail: &str) {
        let mark = match pass {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "----",
        };
        let _ = self.line(&format!("[{mark}] {check} / {subject}: {detail}"));
        self.rows.push(Row { check: check.into(), subject: subject.into(), pass, detail: detail.into() });
    }

    /// A pass/fail row with no separate subject.
    pub fn add(&mut self, check: impl Into<String>, passed: bool, detail: impl Into<String>) {
        self.row(&check.into(), "-", Some(passed), &detail.into());
    }

    pub fn fail(&mut self, check: &str, subject: &str, detail: &str) {
        self.row(check, subject, Some(false), detail);
    }

    /// Prints the table; 0 when nothing failed, else 1.
    pub fn finish(mut self) -> Result<u8> {
        let width = self.rows.iter().map(|r| r.check.len() + r.subject.len() + 3).max().unwrap_or(10);
        let mut table = format!("\n{:<width$}  result  detail\n", "check / subject");
        for r in &self.rows {
            let mark = match r.pass {
                Some(true) => "PASS",
                Some(false) => "FAIL",
                None => "",
            };
            table += &format!("{:<width$}  {mark:<6}  {}\n", format!("{} / {}", r.check, r.subject), r.detail);
        }
        let failed = self.rows.iter().filter(|r| r.pass == Some(false)).count();
        table += &format!("\n{} checks, {failed} failed\n", self.rows.iter().filter(|r| r.pass.is_some()).count());
        self.line(&table)?;
        Ok(u8::from(failed > 0))
    }
}
