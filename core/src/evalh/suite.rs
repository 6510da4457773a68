//! Tasks from files: a task JSON with its JSONL documents, or a suite that lists task files,
//! each loaded with the SHA-256 of the bytes it was built from so results name them.
//!
//! A suite file is `{"suite": "exam", "tasks": ["kjv_book.json", ...]}` (paths relative to
//! the suite file). A `--tasks` list names task files, suite files, directories holding a
//! `suite.json`, or bare suite names looked up as `<tasks_dir>/<name>/suite.json`.

use super::task::{parse_docs, Doc, Task, TaskSpec};
use crate::io::json;
use crate::io::sha256::{hex, Sha256};
use crate::{Error, Result};
use std::format;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;

/// A task as loaded from disk.
#[derive(Debug, Clone)]
pub struct LoadedTask {
    pub path: PathBuf,
    pub task: Task,
    /// SHA-256 over the task file, then its documents, then its few-shot file (if any).
    pub sha256: String,
}

fn read(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).map_err(|e| Error::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    })
}

/// Reads a task file and its JSONL documents (paths relative to the task file).
pub fn load_task(path: &Path) -> Result<LoadedTask> {
    let text = read(path)?;
    let mut hash = Sha256::new();
    hash.update(text.as_bytes());
    let spec =
        TaskSpec::parse(&text).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut load_docs = |rel: &str| -> Result<Vec<Doc>> {
        let p = dir.join(rel);
        let text = read(&p)?;
        hash.update(text.as_bytes());
        parse_docs(&text, &p.display().to_string())
    };
    let docs = load_docs(&spec.docs)?;
    let pool = spec.fewshot_docs.as_deref().map(load_docs).transpose()?;
    Ok(LoadedTask {
        path: path.to_path_buf(),
        task: Task::new(spec, docs, pool)?,
        sha256: hex(&hash.finalize()),
    })
}

/// The task files a suite file lists.
fn suite_members(path: &Path, text: &str) -> Result<Vec<PathBuf>> {
    let bad = |m: &str| Error::invalid(format!("{}: {m}", path.display()));
    let j = json::parse(text).map_err(|e| bad(&e.to_string()))?;
    let tasks = j
        .get("tasks")
        .and_then(|t| t.as_array())
        .ok_or_else(|| bad("a suite needs \"tasks\": a list of task files"))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    tasks
        .iter()
        .map(|t| {
            t.as_str()
                .map(|s| dir.join(s))
                .ok_or_else(|| bad("suite \"tasks\" entries must be strings"))
        })
        .collect()
}

/// Resolves a comma-separated tasks list (`llmcore eval --tasks`) to task files, in order, without repeats.
pub fn resolve(list: &str, tasks_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let p = Path::new(entry);
        let file = if p.is_dir() {
            p.join("suite.json")
        } else if p.exists() {
            p.to_path_buf()
        } else {
            let named = tasks_dir.join(entry).join("suite.json");
            if !named.exists() {
                return Err(Error::invalid(format!(
                    "tasks entry {entry:?} is neither a file, a directory with a suite.json, \
                     nor a suite in {}",
                    tasks_dir.display()
                )));
            }
            named
        };
        let text = read(&file)?;
        let is_suite = json::parse(&text)
            .ok()
            .is_some_and(|j| j.get("suite").is_some());
        let members = if is_suite {
            suite_members(&file, &text)?
        } else {
            std::vec![file]
        };
        for m in members {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    if out.is_empty() {
        return Err(Error::invalid("the tasks list names no task"));
    }
    Ok(out)
}

/// Every task a `--tasks` list names ([`resolve`]), loaded and checked ([`load_task`]).
pub fn load_all(list: &str, tasks_dir: &Path) -> Result<Vec<LoadedTask>> {
    resolve(list, tasks_dir)?
        .iter()
        .map(|f| load_task(f))
        .collect()
}

/// The SHA-256 of a file, read in pieces (model files are gigabytes).
pub fn file_sha256(path: &Path) -> Result<String> {
    use std::io::Read;
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut hash = Sha256::new();
    let mut buf = std::vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(hex(&hash.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_resolve_to_their_tasks_and_loading_names_bad_lines() {
        let dir = std::env::temp_dir().join(format!("llmcore-suite-{}", std::process::id()));
        let sub = dir.join("mini");
        std::fs::create_dir_all(&sub).unwrap();
        let task = r#"{"name": "t", "docs": "t.jsonl", "output_type": "generate_until",
            "doc_to_text": "Q: {{q}}", "doc_to_target": "{{a}}", "metrics": ["exact_match"]}"#;
        std::fs::write(sub.join("t.json"), task).unwrap();
        std::fs::write(sub.join("t.jsonl"), "{\"q\": \"x\", \"a\": \"y\"}\n").unwrap();
        std::fs::write(
            sub.join("suite.json"),
            r#"{"suite": "mini", "tasks": ["t.json"]}"#,
        )
        .unwrap();
        let by_name = resolve("mini", &dir).unwrap();
        let by_dir = resolve(&sub.display().to_string(), &dir).unwrap();
        let both = resolve(&std::format!("{},mini", sub.join("t.json").display()), &dir).unwrap();
        assert_eq!(by_name, std::vec![sub.join("t.json")]);
        assert_eq!(by_dir, by_name);
        assert_eq!(both, by_name, "a task named twice runs once");
        assert!(resolve("nope", &dir)
            .unwrap_err()
            .to_string()
            .contains("\"nope\""));

        let a = load_task(&sub.join("t.json")).unwrap();
        assert_eq!(a.task.docs.len(), 1);
        std::fs::write(
            sub.join("t.jsonl"),
            "{\"q\": \"x\", \"a\": \"y\"}\n{\"q\": \"z\"}\n",
        )
        .unwrap();
        let e = load_task(&sub.join("t.json")).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("\"a\""), "{e}");
        std::fs::write(sub.join("t.jsonl"), "{\"q\": \"x\", \"a\": \"Y\"}\n").unwrap();
        assert_ne!(load_task(&sub.join("t.json")).unwrap().sha256, a.sha256);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
